//! features.md and features-linux.md: the `features` document.

use serde_json::{json, Value};

use crate::harness::*;
use crate::tests::Test;
use crate::{ensure, t};

pub fn tests() -> Vec<Test> {
    vec![
        t!("features.document", "1.1.0", "The Features structure: ociVersionMin and ociVersionMax (string, REQUIRED).", document),
        t!("features.compile-time", "1.1.0", "The content of the Features structure SHOULD be determined on the compilation time of the runtime, not on the execution time (same in another mount namespace and environment).", compile_time),
        t!("features.ociVersionMin-accepted", "1.1.0", "ociVersionMin: the runtime MUST accept this value as the ociVersion property of config.json.", |c| version_accepted(c, "ociVersionMin")),
        t!("features.ociVersionMax-accepted", "1.1.0", "ociVersionMax: the runtime MUST accept this value as the ociVersion property of config.json.", |c| version_accepted(c, "ociVersionMax")),
        t!("features.min-not-above-max", "1.1.0", "The value of ociVersionMax MUST NOT be less than the value of the ociVersionMin property.", min_max),
        t!("features.only-defined-properties", "1.1.0", "The Features structure MUST NOT contain properties that are not defined in this version of the Open Container Initiative Runtime Specification.", only_defined),
        t!("features.hooks-supported", "1.1.0", "hooks: the runtime MUST support the elements in this array as the hooks property of config.json.", hooks_supported),
        t!("features.mountOptions-recognized", "1.1.0", "mountOptions: the runtime MUST recognize the elements in this array as the options of mounts objects in config.json.", mount_options),
        t!("features.mountOptions-not-fs-specific", "1.1.0", "Linux: this array SHOULD NOT contain filesystem-specific mount options that are passed to the mount(2) syscall as const void *data.", mount_options_generic),
        t!("features.annotations-map", "1.1.0", "annotations MUST be a key-value map that follows the same convention as the Key and Values of the annotations property of config.json.", annotations),
        t!("features.namespaces-recognized", "1.1.0", "linux.namespaces: the runtime MUST recognize the elements in this array as the type of linux.namespaces objects in config.json.", namespaces),
        t!("features.capabilities-recognized", "1.1.0", "linux.capabilities: the runtime MUST recognize the elements in this array in the process.capabilities object of config.json.", capabilities),
        t!("features.seccomp-actions-recognized", "1.1.0", "linux.seccomp.actions: the runtime MUST recognize the elements in this array in the syscalls[].action property of the linux.seccomp object.", |c| seccomp_list(c, "actions")),
        t!("features.seccomp-operators-recognized", "1.1.0", "linux.seccomp.operators: the runtime MUST recognize the elements in this array in the syscalls[].args[].op property.", |c| seccomp_list(c, "operators")),
        t!("features.seccomp-archs-recognized", "1.1.0", "linux.seccomp.archs: the runtime MUST recognize the elements in this array in the architectures property.", |c| seccomp_list(c, "archs")),
        t!("features.seccomp-knownFlags-recognized", "1.1.0", "linux.seccomp.knownFlags: the runtime MUST recognize the elements in this array in the flags property.", |c| seccomp_list(c, "knownFlags")),
        t!("features.seccomp-supportedFlags-supported", "1.1.0", "linux.seccomp.supportedFlags: the runtime MUST recognize and support the elements in this array in the flags property.", |c| seccomp_list(c, "supportedFlags")),
        t!("features.memoryPolicy-recognized", "1.3.0", "linux.memoryPolicy modes and flags: the runtime MUST recognize the elements in these arrays in linux.memoryPolicy.", mempolicy),
    ]
}

fn features(c: &Ctx) -> Result<Value, Why> {
    c.rt(&["features"]).must("features")?.json()
}

fn document(c: &Ctx) -> Res {
    let f = features(c)?;
    for k in ["ociVersionMin", "ociVersionMax"] {
        let v = f[k].as_str().unwrap_or("");
        ensure!(parse_version(v) != (0, 0, 0), "{k} is {:?}", f[k]);
    }
    Ok(())
}

fn compile_time(c: &Ctx) -> Res {
    let a = features(c)?;
    let mut cmd = c.rt.command(&["features"]);
    cmd.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .current_dir("/");
    let b: Value = run_cmd(cmd, &c.dir, c.rt.timeout)
        .must("features")?
        .json()?;
    ensure!(a == b, "features differ between two executions");
    Ok(())
}

fn version_accepted(c: &Ctx, key: &str) -> Res {
    let f = features(c)?;
    let v = f[key].as_str().unwrap_or("").to_string();
    let b = c.bundle().set("/ociVersion", json!(v));
    c.run(&b).must(&format!("run with ociVersion {v}"))?;
    Ok(())
}

fn min_max(c: &Ctx) -> Res {
    let f = features(c)?;
    let (a, b) = (
        f["ociVersionMin"].as_str().unwrap_or(""),
        f["ociVersionMax"].as_str().unwrap_or(""),
    );
    ensure!(
        parse_version(b) >= parse_version(a),
        "ociVersionMax {b} < ociVersionMin {a}"
    );
    Ok(())
}

fn only_defined(c: &Ctx) -> Res {
    let f = features(c)?;
    let top = [
        "ociVersionMin",
        "ociVersionMax",
        "hooks",
        "mountOptions",
        "linux",
        "annotations",
        "potentiallyUnsafeConfigAnnotations",
    ];
    let linux = [
        "namespaces",
        "capabilities",
        "cgroup",
        "seccomp",
        "apparmor",
        "selinux",
        "intelRdt",
        "memoryPolicy",
        "mountExtensions",
        "netDevices",
    ];
    let mut bad = Vec::new();
    for k in f
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if !top.contains(&k.as_str()) {
            bad.push(k);
        }
    }
    for k in f["linux"]
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if !linux.contains(&k.as_str()) {
            bad.push(format!("linux.{k}"));
        }
    }
    ensure!(
        bad.is_empty(),
        "properties not defined by the spec: {bad:?}"
    );
    Ok(())
}

fn hooks_supported(c: &Ctx) -> Res {
    let f = features(c)?;
    let log = c.hostdir("fh");
    let mut hooks = serde_json::Map::new();
    for h in f["hooks"].as_array().cloned().unwrap_or_default() {
        let h = h.as_str().unwrap_or("").to_string();
        if h == "startContainer" {
            hooks.insert(h.clone(), json!([{"path": "/bin/true"}]));
            continue;
        }
        hooks.insert(h.clone(), json!([{"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}/{h}", log.display())]}]));
    }
    let b = c
        .bundle()
        .set("/hooks", Value::Object(hooks.clone()))
        .args(&["/bin/probe", "exit", "0"]);
    c.run(&b).must("run with every listed hook")?;
    let missing: Vec<&String> = hooks
        .keys()
        .filter(|h| *h != "startContainer" && !log.join(h).exists())
        .collect();
    ensure!(
        missing.is_empty(),
        "listed hooks that did not run: {missing:?}"
    );
    Ok(())
}

fn mount_options(c: &Ctx) -> Res {
    let f = features(c)?;
    let opts: Vec<String> = f["mountOptions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut bad = Vec::new();
    for o in &opts {
        let mount = if o.contains("bind") || ["idmap", "ridmap"].contains(&o.as_str()) {
            continue;
        } else if o == "remount" {
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["remount"]})
        } else {
            json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs", "options": [o]})
        };
        let b = c.bundle().mount(mount).args(&["/bin/probe", "exit", "0"]);
        let r = c.run(&b);
        if !r.ok() {
            bad.push(format!("{o}: {}", trunc(&r.stderr, 120)));
        }
    }
    ensure!(
        bad.is_empty(),
        "listed mount options refused on a tmpfs: {bad:?}"
    );
    Ok(())
}

fn mount_options_generic(c: &Ctx) -> Res {
    let f = features(c)?;
    let bad: Vec<String> = f["mountOptions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .filter(|o| o.contains('='))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    ensure!(
        bad.is_empty(),
        "filesystem-specific options listed: {bad:?}"
    );
    Ok(())
}

fn annotations(c: &Ctx) -> Res {
    let f = features(c)?;
    if f.get("annotations").is_none() || f["annotations"].is_null() {
        return Ok(());
    }
    let m = f["annotations"]
        .as_object()
        .ok_or_else(|| Why::Fail("annotations is not a map".into()))?;
    ensure!(
        m.iter().all(|(k, v)| !k.is_empty() && v.is_string()),
        "annotations: {}",
        f["annotations"]
    );
    Ok(())
}

fn namespaces(c: &Ctx) -> Res {
    let f = features(c)?;
    let mut bad = Vec::new();
    for ns in f["linux"]["namespaces"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let ns = ns.as_str().unwrap_or("");
        let b = if ns == "user" {
            crate::tests::mounts::userns_bundle(c)
        } else {
            c.bundle().ns_add(json!({"type": ns}))
        };
        let r = c.run(&b.args(&["/bin/probe", "exit", "0"]));
        if !r.ok() {
            bad.push(format!("{ns}: {}", trunc(&r.stderr, 120)));
        }
    }
    ensure!(bad.is_empty(), "listed namespaces refused: {bad:?}");
    Ok(())
}

fn capabilities(c: &Ctx) -> Res {
    let f = features(c)?;
    // Recognition, not granting: leave out what this host cannot grant
    // (process.caps-ungrantable-no-fail checks that).
    let bnd = host_cap_bounding();
    let caps: Vec<Value> = f["linux"]["capabilities"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| {
            c.as_str()
                .and_then(cap_number)
                .is_none_or(|n| bnd & (1 << n) != 0)
        })
        .collect();
    let b = c
        .bundle()
        .set(
            "/process/capabilities",
            json!({"bounding": caps, "permitted": caps, "effective": caps}),
        )
        .args(&["/bin/probe", "exit", "0"]);
    let r = c.run(&b);
    ensure!(
        r.ok(),
        "a config with every listed capability was refused: {}",
        r.brief()
    );
    Ok(())
}

fn seccomp_list(c: &Ctx, key: &str) -> Res {
    let f = features(c)?;
    let list: Vec<String> = f["linux"]["seccomp"][key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut bad = Vec::new();
    let listener = c.dir.join("notify.sock");
    let _l = std::os::unix::net::UnixListener::bind(&listener);
    for item in &list {
        let rule = json!({"names": ["getcpu"], "action": "SCMP_ACT_ERRNO"});
        let mut s = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]});
        match key {
            "actions" => {
                s["syscalls"][0]["action"] = json!(item);
                if item == "SCMP_ACT_NOTIFY" {
                    // Recognition only: the listener accepts and drops.
                    s["listenerPath"] = json!(listener);
                }
            }
            "operators" => {
                s["syscalls"][0]["args"] =
                    json!([{"index": 0, "value": 1, "valueTwo": 1, "op": item}])
            }
            "archs" => s["architectures"] = json!([item]),
            _ => {
                s["flags"] = json!([item]);
                if item == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" {
                    // Only meaningful with a notify listener.
                    s["syscalls"][0]["action"] = json!("SCMP_ACT_NOTIFY");
                    s["listenerPath"] = json!(listener);
                }
            }
        }
        let notify = s["listenerPath"].is_string();
        let b = c
            .bundle()
            .set("/linux/seccomp", s)
            .args(&["/bin/probe", "exit", "0"]);
        let r = if notify {
            c.try_create(&b, &[]).map(|_| ())
        } else {
            let o = c.run(&b);
            if o.ok() {
                Ok(())
            } else {
                Err(o)
            }
        };
        if let Err(o) = r {
            bad.push(format!("{item}: {}", trunc(&o.stderr, 120)));
        }
    }
    ensure!(bad.is_empty(), "listed seccomp {key} refused: {bad:?}");
    Ok(())
}

fn mempolicy(c: &Ctx) -> Res {
    let f = features(c)?;
    let mut bad = Vec::new();
    for m in f["linux"]["memoryPolicy"]["modes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let m = m.as_str().unwrap_or("");
        let nodes = if m == "MPOL_DEFAULT" || m == "MPOL_LOCAL" {
            json!(null)
        } else {
            json!("0")
        };
        let mut p = json!({"mode": m});
        if !nodes.is_null() {
            p["nodes"] = nodes;
        }
        let r = c.run(
            &c.bundle()
                .set("/linux/memoryPolicy", p)
                .args(&["/bin/probe", "exit", "0"]),
        );
        if !r.ok() {
            bad.push(format!("{m}: {}", trunc(&r.stderr, 100)));
        }
    }
    for fl in f["linux"]["memoryPolicy"]["flags"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let p = json!({"mode": "MPOL_BIND", "nodes": "0", "flags": [fl]});
        let r = c.run(
            &c.bundle()
                .set("/linux/memoryPolicy", p)
                .args(&["/bin/probe", "exit", "0"]),
        );
        if !r.ok() {
            bad.push(format!("{fl}: {}", trunc(&r.stderr, 100)));
        }
    }
    ensure!(bad.is_empty(), "listed memory policies refused: {bad:?}");
    Ok(())
}
