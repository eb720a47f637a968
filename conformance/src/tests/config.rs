//! config.md: specification version, root, annotations, extensibility,
//! valid values.

use serde_json::json;

use crate::harness::*;
use crate::tests::Test;
use crate::{ensure, t};

pub fn tests() -> Vec<Test> {
    vec![
        t!("root.readonly", "1.0.0", "If readonly is true then the root filesystem MUST be read-only inside the container.", root_readonly),
        t!("root.readonly-default-false", "1.0.0", "readonly defaults to false: without it the root filesystem is writable.", root_rw),
        t!("root.path-relative", "1.0.0", "On POSIX platforms, path is either an absolute path or a relative path to the bundle.", root_relative),
        t!("root.missing-errors", "1.0.0", "A directory MUST exist at the path declared by the field: a missing root is an error.", root_missing),
        t!("config.unknown-properties-ignored", "1.0.0", "Runtimes MAY log unknown properties but MUST otherwise ignore them; that includes not generating errors if they encounter an unknown property.", unknown_props),
        t!("config.invalid-namespace-type", "1.0.0", "Runtimes MUST generate an error when invalid or unsupported values are encountered (a namespace type that does not exist).", invalid_ns),
        t!("config.invalid-rootfsPropagation", "1.0.0", "Runtimes MUST generate an error when invalid or unsupported values are encountered (rootfsPropagation \"bogus\").", invalid_prop),
        t!("config.invalid-ociVersion", "1.0.0", "ociVersion MUST be in SemVer v2.0.0 format; runtimes MUST generate an error when invalid values are encountered.", invalid_version),
        t!("annotations.unknown-keys", "1.0.0", "Runtimes MUST handle unknown annotation keys like any other unknown property (ignore them, no error).", ann_unknown),
        t!("annotations.not-a-map-errors", "1.0.0", "Annotations MUST be a key-value map: an array is an invalid value and MUST generate an error.", ann_not_map),
        t!("annotations.empty-key-errors", "1.0.0", "Keys MUST NOT be an empty string: such a key is an invalid value and MUST generate an error.", ann_empty_key),
        t!("annotations.value-not-string-errors", "1.0.0", "Values MUST be strings: a number is an invalid value and MUST generate an error.", ann_value),
    ]
}

fn root_readonly(c: &Ctx) -> Res {
    let out = c.shell(c.bundle(), "touch /conformance-rw 2>&1; echo rc=$?")?;
    ensure!(
        out.contains("rc=1") || out.contains("Read-only"),
        "writing to / worked on a readonly root: {out:?}"
    );
    Ok(())
}

fn root_rw(c: &Ctx) -> Res {
    let mut b = c.bundle();
    let rootfs = b.private_rootfs(&c.rt.rootfs)?;
    if let Some(r) = b.spec["root"].as_object_mut() {
        r.remove("readonly");
    }
    let out = c.shell(b, "echo hi > /conformance-rw && echo written")?;
    ensure!(
        out.contains("written") && rootfs.join("conformance-rw").exists(),
        "root not writable without readonly: {out:?}"
    );
    Ok(())
}

fn root_relative(c: &Ctx) -> Res {
    let mut b = c.bundle();
    b.private_rootfs(&c.rt.rootfs)?;
    ensure!(b.spec["root"]["path"] == "rootfs", "setup");
    c.report(b)?;
    Ok(())
}

fn root_missing(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set("/root/path", json!("/nonexistent/conformance-rootfs"));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "create succeeded with a root path that does not exist"
    );
    Ok(())
}

fn unknown_props(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set("/conformanceUnknown", json!({"a": 1}))
        .set("/process/conformanceUnknown", json!(true))
        .set("/linux/conformanceUnknown", json!([1, 2]))
        .set("/root/conformanceUnknown", json!("x"));
    c.report(b)?;
    Ok(())
}

fn invalid_ns(c: &Ctx) -> Res {
    let b = c.bundle().ns_add(json!({"type": "conformance"}));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "create accepted namespace type \"conformance\""
    );
    Ok(())
}

fn invalid_prop(c: &Ctx) -> Res {
    let b = c.bundle().set("/linux/rootfsPropagation", json!("bogus"));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "create accepted rootfsPropagation \"bogus\""
    );
    Ok(())
}

fn invalid_version(c: &Ctx) -> Res {
    let b = c.bundle().set("/ociVersion", json!("not-a-version"));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "create accepted ociVersion \"not-a-version\""
    );
    Ok(())
}

fn ann_unknown(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/annotations",
        json!({"org.conformance.unknown-key": "v", "com.example.x": ""}),
    );
    c.report(b)?;
    Ok(())
}

fn ann_not_map(c: &Ctx) -> Res {
    let b = c.bundle().set("/annotations", json!(["a", "b"]));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "create accepted annotations given as an array"
    );
    Ok(())
}

fn ann_empty_key(c: &Ctx) -> Res {
    let b = c.bundle().set("/annotations", json!({"": "v"}));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "create accepted an empty annotation key"
    );
    Ok(())
}

fn ann_value(c: &Ctx) -> Res {
    let b = c.bundle().set("/annotations", json!({"com.example.n": 1}));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "create accepted a non-string annotation value"
    );
    Ok(())
}
