//! config.md "Mounts", "Linux mount options" (one test per option of the
//! table), "POSIX-platform Mounts" (idmapped mounts).

use std::ffi::CString;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::harness::*;
use crate::tests::Test;
use crate::{ensure, t};

macro_rules! opt {
    ($name:literal, $since:literal, $kw:literal) => {
        t!(
            concat!("mounts.opt-", $name),
            $since,
            concat!(
                "Runtimes ",
                $kw,
                " implement the mount option `",
                $name,
                "`."
            ),
            |c| opt(c, $name)
        )
    };
}

pub fn tests() -> Vec<Test> {
    vec![
        t!("mounts.order", "1.0.0", "The runtime MUST mount entries in the listed order.", order),
        t!("mounts.relative-destination", "1.2.0", "Linux destination MAY be a relative path, in which case it MUST be interpreted as relative to \"/\".", relative_dest),
        t!("mounts.data-options", "1.0.0", "Runtimes SHOULD treat unknown options as filesystem-specific ones and pass those as a comma-separated string to the fifth (const void *data) argument of mount(2).", data_options),
        opt!("async", "1.0.0", "MUST"), opt!("atime", "1.0.0", "MUST"), opt!("bind", "1.0.0", "MUST"),
        opt!("defaults", "1.0.0", "MUST"), opt!("dev", "1.0.0", "MUST"), opt!("diratime", "1.0.0", "MUST"),
        opt!("dirsync", "1.0.0", "MUST"), opt!("exec", "1.0.0", "MUST"), opt!("iversion", "1.0.0", "MUST"),
        opt!("lazytime", "1.0.0", "MUST"), opt!("loud", "1.0.0", "MUST"), opt!("noatime", "1.0.0", "MUST"),
        opt!("nodev", "1.0.0", "MUST"), opt!("nodiratime", "1.0.0", "MUST"), opt!("noexec", "1.0.0", "MUST"),
        opt!("noiversion", "1.0.0", "MUST"), opt!("nolazytime", "1.0.0", "MUST"), opt!("norelatime", "1.0.0", "MUST"),
        opt!("nostrictatime", "1.0.0", "MUST"), opt!("nosuid", "1.0.0", "MUST"), opt!("nosymfollow", "1.1.0", "SHOULD"),
        opt!("private", "1.0.0", "MUST"), opt!("ratime", "1.1.0", "SHOULD"), opt!("rbind", "1.0.0", "MUST"),
        opt!("rdev", "1.1.0", "SHOULD"), opt!("rdiratime", "1.1.0", "SHOULD"), opt!("relatime", "1.0.0", "MUST"),
        opt!("remount", "1.0.0", "MUST"), opt!("rexec", "1.1.0", "SHOULD"), opt!("rnoatime", "1.1.0", "SHOULD"),
        opt!("rnodiratime", "1.1.0", "SHOULD"), opt!("rnoexec", "1.1.0", "SHOULD"), opt!("rnorelatime", "1.1.0", "SHOULD"),
        opt!("rnostrictatime", "1.1.0", "SHOULD"), opt!("rnosuid", "1.1.0", "SHOULD"), opt!("rnosymfollow", "1.1.0", "SHOULD"),
        opt!("ro", "1.0.0", "MUST"), opt!("rprivate", "1.0.0", "MUST"), opt!("rrelatime", "1.1.0", "SHOULD"),
        opt!("rro", "1.1.0", "SHOULD"), opt!("rrw", "1.1.0", "SHOULD"), opt!("rshared", "1.0.0", "MUST"),
        opt!("rslave", "1.0.0", "MUST"), opt!("rstrictatime", "1.1.0", "SHOULD"), opt!("rsuid", "1.1.0", "SHOULD"),
        opt!("rsymfollow", "1.1.0", "SHOULD"), opt!("runbindable", "1.0.0", "MUST"), opt!("rw", "1.0.0", "MUST"),
        opt!("shared", "1.0.0", "MUST"), opt!("silent", "1.0.0", "MUST"), opt!("slave", "1.0.0", "MUST"),
        opt!("strictatime", "1.0.0", "MUST"), opt!("suid", "1.0.0", "MUST"), opt!("symfollow", "1.1.0", "SHOULD"),
        opt!("sync", "1.0.0", "MUST"), opt!("unbindable", "1.0.0", "MUST"),
        t!("mounts.opt-rnodev", "1.1.0", "rnodev: recursive nodev (listed in the features example, missing from the table).", |c| opt(c, "rnodev")),
        t!("mounts.idmap", "1.2.0", "idmap: the mount MUST have an idmapping applied; if uidMappings or gidMappings are specified for the mount, the runtime MUST use those values for the mount's mapping.", |c| idmap(c, false)),
        t!("mounts.ridmap", "1.2.0", "ridmap: the mount MUST have an idmapping applied, and the mapping is applied recursively.", |c| idmap(c, true)),
        t!("mounts.idmap-userns-mapping", "1.2.0", "If mount mappings are not specified, the runtime MAY use the container's user namespace mapping, otherwise an error MUST be returned (no silent mount without idmapping).", idmap_userns_mapping),
        t!("mounts.idmap-without-userns-errors", "1.2.0", "If there are no uidMappings and gidMappings specified and the container isn't using user namespaces, an error MUST be returned.", idmap_no_userns),
        t!("mounts.uidMappings-without-gidMappings-errors", "1.1.0", "uidMappings: if specified, it MUST be specified along with gidMappings.", |c| half_mapping(c, "uidMappings")),
        t!("mounts.gidMappings-without-uidMappings-errors", "1.1.0", "gidMappings: if specified, it MUST be specified along with uidMappings.", |c| half_mapping(c, "gidMappings")),
    ]
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap_or_default()
}

/// A host mount for a test fixture, undone when the test ends.
fn host_mount(c: &Ctx, target: &Path, flags: libc::c_ulong, data: &str) -> Result<(), Why> {
    let (src, ty, d) = (c"tmpfs", c"tmpfs", CString::new(data).unwrap_or_default());
    let t = cstr(target);
    // SAFETY: valid C strings.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            t.as_ptr(),
            ty.as_ptr(),
            flags,
            d.as_ptr().cast(),
        )
    };
    ensure!(
        r == 0,
        "host mount at {}: {}",
        target.display(),
        std::io::Error::last_os_error()
    );
    let p = target.to_path_buf();
    c.on_cleanup(move || {
        let t = cstr(&p);
        // SAFETY: valid C string.
        unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
    });
    Ok(())
}

/// A host tmpfs with a file, a sub-directory holding another tmpfs (with
/// `sub_flags`) and a file in it; both mounts shared.
pub fn fixture(c: &Ctx, sub_flags: libc::c_ulong) -> Result<PathBuf, Why> {
    let top = c.hostdir(&format!("fx{}", uniq()));
    host_mount(c, &top, 0, "mode=755")?;
    let sub = top.join("sub");
    std::fs::create_dir_all(&sub).map_err(|e| Why::Fail(e.to_string()))?;
    let _ = std::fs::write(top.join("file"), "top");
    host_mount(c, &sub, 0, "mode=755")?;
    let _ = std::fs::write(sub.join("file"), "sub");
    if sub_flags != 0 {
        let t = cstr(&sub);
        // SAFETY: valid C strings; a remount of the mount we just made.
        let r = unsafe {
            libc::mount(
                std::ptr::null(),
                t.as_ptr(),
                std::ptr::null(),
                libc::MS_REMOUNT | libc::MS_BIND | sub_flags,
                std::ptr::null(),
            )
        };
        ensure!(
            r == 0,
            "remount fixture: {}",
            std::io::Error::last_os_error()
        );
    }
    let t = cstr(&top);
    // SAFETY: valid C string.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            t.as_ptr(),
            std::ptr::null(),
            libc::MS_SHARED | libc::MS_REC,
            std::ptr::null(),
        )
    };
    ensure!(
        r == 0,
        "make-shared fixture: {}",
        std::io::Error::last_os_error()
    );
    Ok(top)
}

fn mountinfo(c: &Ctx, b: Bundle) -> Result<String, Why> {
    let v = c.report(b)?;
    Ok(v["mountinfo"].as_str().unwrap_or("").to_string())
}

fn order(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .mount(json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}))
        .mount(json!({"destination": "/m/inner", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m"]}))
        .mount(json!({"destination": "/s", "type": "tmpfs", "source": "tmpfs", "options": ["size=3m"]}))
        .mount(json!({"destination": "/s", "type": "tmpfs", "source": "tmpfs", "options": ["size=4m"]}));
    let mi = mountinfo(c, b)?;
    ensure!(
        mount_at(&mi, "/m/inner").is_some_and(|m| m.super_opts.iter().any(|o| o == "size=2048k")),
        "/m/inner not mounted on top of /m"
    );
    let top = mount_at(&mi, "/s");
    ensure!(
        top.is_some_and(|m| m.super_opts.iter().any(|o| o == "size=4096k")),
        "the later mount at /s is not on top"
    );
    Ok(())
}

fn relative_dest(c: &Ctx) -> Res {
    let b = c.bundle().mount(
        json!({"destination": "relm", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}),
    );
    let mi = mountinfo(c, b)?;
    ensure!(
        mount_at(&mi, "/relm").is_some(),
        "relative destination \"relm\" not mounted at /relm"
    );
    Ok(())
}

fn data_options(c: &Ctx) -> Res {
    let b = c.bundle().mount(json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=710", "nr_inodes=100"]}));
    let mi = mountinfo(c, b)?;
    let m = mount_at(&mi, "/m").ok_or_else(|| Why::Fail("no mount at /m".into()))?;
    for want in ["size=1024k", "mode=710", "nr_inodes=100"] {
        ensure!(
            m.super_opts.iter().any(|o| o == want),
            "{want} not passed to mount(2): {:?}",
            m.super_opts
        );
    }
    Ok(())
}

enum Check {
    Has(&'static str),
    Lacks(&'static str),
    SuperHas(&'static str),
    SuperLacks(&'static str),
    Mounted,
    Optional(&'static str),
    NoPropagation,
}

fn check_entry(mi: &str, mp: &str, chk: &Check) -> Result<(), String> {
    let m = mount_at(mi, mp).ok_or(format!("nothing mounted at {mp}"))?;
    let ok = match chk {
        Check::Has(o) => m.opts.iter().any(|x| x == o),
        Check::Lacks(o) => !m.opts.iter().any(|x| x == o),
        Check::SuperHas(o) => m.super_opts.iter().any(|x| x == o),
        Check::SuperLacks(o) => !m.super_opts.iter().any(|x| x == o),
        Check::Mounted => true,
        Check::Optional(p) => m.optional.iter().any(|x| x.starts_with(p)),
        Check::NoPropagation => !m
            .optional
            .iter()
            .any(|x| x.starts_with("shared:") || x.starts_with("master:")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{mp}: options {:?}, optional {:?}, super {:?}",
            m.opts, m.optional, m.super_opts
        ))
    }
}

const FLAGGED: libc::c_ulong = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | 256; // MS_NOSYMFOLLOW

fn opt(c: &Ctx, name: &'static str) -> Res {
    use Check::*;
    // tmpfs at /m with these options, and the checks on /m.
    let tmpfs = |opts: &[&str], checks: Vec<Check>| -> Res {
        let b = c.bundle().mount(
            json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs", "options": opts}),
        );
        let mi = mountinfo(c, b)?;
        for ch in &checks {
            check_entry(&mi, "/m", ch).map_err(|e| Why::Fail(format!("options {opts:?}: {e}")))?;
        }
        Ok(())
    };
    // rbind of a host fixture at /m; checks on /m and /m/sub.
    let fixture_bind =
        |flags: libc::c_ulong, opts: &[&str], top: Vec<Check>, sub: Vec<Check>| -> Res {
            let fx = fixture(c, flags)?;
            let b = c
                .bundle()
                .mount(json!({"destination": "/m", "type": "bind", "source": fx, "options": opts}));
            let mi = mountinfo(c, b)?;
            for ch in &top {
                check_entry(&mi, "/m", ch)
                    .map_err(|e| Why::Fail(format!("options {opts:?}: {e}")))?;
            }
            for ch in &sub {
                check_entry(&mi, "/m/sub", ch)
                    .map_err(|e| Why::Fail(format!("options {opts:?}: {e}")))?;
            }
            Ok(())
        };
    match name {
        "ro" => tmpfs(&["ro"], vec![Has("ro")]),
        "rw" => tmpfs(&["ro", "rw"], vec![Has("rw")]),
        "nosuid" => tmpfs(&["nosuid"], vec![Has("nosuid")]),
        "suid" => tmpfs(&["nosuid", "suid"], vec![Lacks("nosuid")]),
        "nodev" => tmpfs(&["nodev"], vec![Has("nodev")]),
        "dev" => tmpfs(&["nodev", "dev"], vec![Lacks("nodev")]),
        "noexec" => tmpfs(&["noexec"], vec![Has("noexec")]),
        "exec" => tmpfs(&["noexec", "exec"], vec![Lacks("noexec")]),
        "nosymfollow" => tmpfs(&["nosymfollow"], vec![Has("nosymfollow")]),
        "symfollow" => tmpfs(&["nosymfollow", "symfollow"], vec![Lacks("nosymfollow")]),
        "noatime" => tmpfs(&["noatime"], vec![Has("noatime")]),
        "atime" => tmpfs(&["noatime", "atime"], vec![Lacks("noatime")]),
        "nodiratime" => tmpfs(&["nodiratime"], vec![Has("nodiratime")]),
        "diratime" => tmpfs(&["nodiratime", "diratime"], vec![Lacks("nodiratime")]),
        "relatime" => tmpfs(&["relatime"], vec![Has("relatime")]),
        "norelatime" => tmpfs(&["relatime", "norelatime"], vec![Lacks("noatime")]),
        "strictatime" => tmpfs(&["strictatime"], vec![Lacks("relatime"), Lacks("noatime")]),
        "nostrictatime" => tmpfs(&["strictatime", "nostrictatime"], vec![Has("relatime")]),
        "sync" => tmpfs(&["sync"], vec![SuperHas("sync")]),
        "async" => tmpfs(&["sync", "async"], vec![SuperLacks("sync")]),
        "dirsync" => tmpfs(&["dirsync"], vec![SuperHas("dirsync")]),
        "lazytime" => tmpfs(&["lazytime"], vec![SuperHas("lazytime")]),
        "nolazytime" => tmpfs(&["lazytime", "nolazytime"], vec![SuperLacks("lazytime")]),
        "iversion" | "noiversion" | "loud" | "silent" => tmpfs(&[name], vec![Mounted]),
        "defaults" => tmpfs(
            &["defaults"],
            vec![Has("rw"), Lacks("nosuid"), Lacks("nodev"), Lacks("noexec")],
        ),
        "remount" => {
            let b = c
                .bundle()
                .mount(json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}))
                .mount(json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "ro", "size=1m"]}));
            let mi = mountinfo(c, b)?;
            check_entry(&mi, "/m", &Has("ro")).map_err(Why::Fail)?;
            ensure!(
                mount_lines(&mi, "/m").len() == 1,
                "remount made a second mount at /m"
            );
            Ok(())
        }
        "bind" => fixture_bind(0, &["bind"], vec![Mounted], vec![]).and_then(|_| {
            let fx = fixture(c, 0)?;
            let b = c.bundle().mount(
                json!({"destination": "/m", "type": "bind", "source": fx, "options": ["bind"]}),
            );
            let mi = mountinfo(c, b)?;
            ensure!(
                mount_at(&mi, "/m/sub").is_none(),
                "bind (not rbind) also bound the sub-mount"
            );
            Ok(())
        }),
        "rbind" => fixture_bind(0, &["rbind"], vec![Mounted], vec![Mounted]),
        "private" => fixture_bind(0, &["rbind", "private"], vec![NoPropagation], vec![]),
        "rprivate" => fixture_bind(
            0,
            &["rbind", "rprivate"],
            vec![NoPropagation],
            vec![NoPropagation],
        ),
        "shared" => fixture_bind(0, &["rbind", "shared"], vec![Optional("shared:")], vec![]),
        "rshared" => fixture_bind(
            0,
            &["rbind", "rshared"],
            vec![Optional("shared:")],
            vec![Optional("shared:")],
        ),
        "slave" => fixture_bind(0, &["rbind", "slave"], vec![Optional("master:")], vec![]),
        "rslave" => fixture_bind(
            0,
            &["rbind", "rslave"],
            vec![Optional("master:")],
            vec![Optional("master:")],
        ),
        "unbindable" => fixture_bind(
            0,
            &["rbind", "unbindable"],
            vec![Optional("unbindable")],
            vec![],
        ),
        "runbindable" => fixture_bind(
            0,
            &["rbind", "runbindable"],
            vec![Optional("unbindable")],
            vec![Optional("unbindable")],
        ),
        "rro" => fixture_bind(0, &["rbind", "rro"], vec![Has("ro")], vec![Has("ro")]),
        "rnosuid" => fixture_bind(
            0,
            &["rbind", "rnosuid"],
            vec![Has("nosuid")],
            vec![Has("nosuid")],
        ),
        "rnodev" => fixture_bind(
            0,
            &["rbind", "rnodev"],
            vec![Has("nodev")],
            vec![Has("nodev")],
        ),
        "rnoexec" => fixture_bind(
            0,
            &["rbind", "rnoexec"],
            vec![Has("noexec")],
            vec![Has("noexec")],
        ),
        "rnoatime" => fixture_bind(
            0,
            &["rbind", "rnoatime"],
            vec![Has("noatime")],
            vec![Has("noatime")],
        ),
        "rnodiratime" => fixture_bind(
            0,
            &["rbind", "rnodiratime"],
            vec![Has("nodiratime")],
            vec![Has("nodiratime")],
        ),
        "rnosymfollow" => fixture_bind(
            0,
            &["rbind", "rnosymfollow"],
            vec![Has("nosymfollow")],
            vec![Has("nosymfollow")],
        ),
        "rstrictatime" => fixture_bind(
            0,
            &["rbind", "rstrictatime"],
            vec![Lacks("relatime")],
            vec![Lacks("relatime"), Lacks("noatime")],
        ),
        // The kernel defaults to relatime: norelatime alone changes nothing
        // (as with mount(8)); the option must be accepted.
        "rnorelatime" => fixture_bind(
            0,
            &["rbind", "rnorelatime"],
            vec![],
            vec![Mounted, Lacks("noatime")],
        ),
        "rrelatime" => fixture_bind(
            libc::MS_NOATIME,
            &["rbind", "rrelatime"],
            vec![],
            vec![Has("relatime")],
        ),
        "rnostrictatime" => fixture_bind(
            0,
            &["rbind", "rstrictatime", "rnostrictatime"],
            vec![],
            vec![Has("relatime")],
        ),
        "rrw" => fixture_bind(FLAGGED, &["rbind", "rrw"], vec![], vec![Has("rw")]),
        "rsuid" => fixture_bind(FLAGGED, &["rbind", "rsuid"], vec![], vec![Lacks("nosuid")]),
        "rdev" => fixture_bind(FLAGGED, &["rbind", "rdev"], vec![], vec![Lacks("nodev")]),
        "rexec" => fixture_bind(FLAGGED, &["rbind", "rexec"], vec![], vec![Lacks("noexec")]),
        "ratime" => fixture_bind(
            FLAGGED,
            &["rbind", "ratime"],
            vec![],
            vec![Lacks("noatime")],
        ),
        "rdiratime" => fixture_bind(
            FLAGGED,
            &["rbind", "rdiratime"],
            vec![],
            vec![Lacks("nodiratime")],
        ),
        "rsymfollow" => fixture_bind(
            FLAGGED,
            &["rbind", "rsymfollow"],
            vec![],
            vec![Lacks("nosymfollow")],
        ),
        other => Err(Why::Fail(format!("no check for option {other}"))),
    }
}

/// Idmapped mounts go on /home: a directory the shared rootfs has (in a
/// user namespace a mount target cannot be created in a rootfs owned by the
/// host's root, with any runtime).
pub const MAPPING: &str = r#"[{"containerID": 0, "hostID": 100000, "size": 65536}]"#;

/// The default bundle in a new user namespace mapping 0-65535 to 100000.
pub fn userns_bundle(c: &Ctx) -> Bundle {
    let m: Value = serde_json::from_str(MAPPING).unwrap_or(Value::Null);
    c.bundle()
        .ns_add(json!({"type": "user"}))
        .set("/linux/uidMappings", m.clone())
        .set("/linux/gidMappings", m)
}

fn idmap(c: &Ctx, recursive: bool) -> Res {
    let fx = fixture(c, 0)?;
    let m: Value = serde_json::from_str(MAPPING).unwrap_or(Value::Null);
    let opts = if recursive {
        json!(["rbind", "ridmap"])
    } else {
        json!(["bind", "idmap"])
    };
    let b = userns_bundle(c).mount(json!({"destination": "/home", "type": "bind", "source": fx, "options": opts, "uidMappings": m, "gidMappings": m}));
    let out = c.shell(
        b,
        // The sub-mount is only there with ridmap: the last stat may fail.
        "stat -c '%u:%g' /home/file; stat -c '%u:%g' /home/sub/file 2>&1; true",
    )?;
    let lines: Vec<&str> = out.lines().collect();
    ensure!(
        lines.first() == Some(&"0:0"),
        "/home/file owner {:?} (want 0:0 through the mount's mapping; 65534 means no idmapping)",
        lines.first()
    );
    if recursive {
        ensure!(
            lines.get(1) == Some(&"0:0"),
            "/home/sub/file owner {:?} (want 0:0: ridmap is recursive)",
            lines.get(1)
        );
    }
    Ok(())
}

fn idmap_no_userns(c: &Ctx) -> Res {
    let fx = fixture(c, 0)?;
    for o in [json!(["bind", "idmap"]), json!(["rbind", "ridmap"])] {
        let b = c
            .bundle()
            .mount(json!({"destination": "/home", "type": "bind", "source": fx, "options": o}));
        ensure!(
            c.try_create(&b, &[]).is_err(),
            "{o} without any mapping and without a user namespace was accepted"
        );
    }
    Ok(())
}

fn idmap_userns_mapping(c: &Ctx) -> Res {
    let fx = fixture(c, 0)?;
    let b = userns_bundle(c)
        .mount(json!({"destination": "/home", "type": "bind", "source": fx, "options": ["bind", "idmap"]}))
        .sh("stat -c '%u:%g' /home/file");
    b.write();
    let o = c.run(&b);
    ensure!(
        o.ok(),
        "idmap with the container's mappings failed: {}",
        o.brief()
    );
    ensure!(
        o.stdout.trim() == "0:0",
        "/home/file owner {:?}: the idmap option was accepted but no idmapping applied",
        o.stdout.trim()
    );
    Ok(())
}

fn half_mapping(c: &Ctx, field: &str) -> Res {
    let fx = fixture(c, 0)?;
    let m: Value = serde_json::from_str(MAPPING).unwrap_or(Value::Null);
    let b = userns_bundle(c).mount(json!({"destination": "/idm", "type": "bind", "source": fx, "options": ["bind", "idmap"], field: m}));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "a mount with {field} alone was accepted"
    );
    Ok(())
}
