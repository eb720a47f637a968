//! config.md "POSIX-platform Hooks" and runtime.md lifecycle steps 3-13.
//!
//! Every hook records what it saw: the state on its stdin, its own
//! namespaces, the container process's namespace and root at that moment,
//! and appends its name to a shared `order` file; the suite appends
//! `create-returned`, `start-returned` and `delete-returned` there too.
//! Hooks that run in the runtime namespace use /bin/bash, a path that exists
//! on the host but not in the busybox rootfs; startContainer hooks use
//! /cbin/sh, which exists only in the container's rootfs.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::harness::*;
use crate::tests::lifecycle::check_state_as;
use crate::tests::Test;
use crate::{ensure, t};

pub const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

pub fn tests() -> Vec<Test> {
    vec![
        t!("hooks.prestart", "1.0.0", "The prestart hooks MUST be invoked by the runtime; the value of path MUST resolve in the runtime namespace.", |c| invoked(c, "prestart")),
        t!("hooks.createRuntime", "1.0.2", "The createRuntime hooks MUST be invoked by the runtime; the value of path MUST resolve in the runtime namespace.", |c| invoked(c, "createRuntime")),
        t!("hooks.createContainer", "1.0.2", "The createContainer hooks MUST be invoked by the runtime; the value of path MUST resolve in the runtime namespace.", |c| invoked(c, "createContainer")),
        t!("hooks.startContainer", "1.0.2", "The startContainer hooks MUST be invoked by the runtime; the value of path MUST resolve in the container namespace.", |c| invoked(c, "startContainer")),
        t!("hooks.poststart", "1.0.0", "The poststart hooks MUST be invoked by the runtime; the value of path MUST resolve in the runtime namespace.", |c| invoked(c, "poststart")),
        t!("hooks.poststop", "1.0.0", "The poststop hooks MUST be invoked by the runtime; the value of path MUST resolve in the runtime namespace.", |c| invoked(c, "poststop")),
        t!("hooks.order", "1.0.2", "Hooks MUST be called in the listed order (two of each kind; and prestart, createRuntime, createContainer, startContainer, poststart, poststop in lifecycle order).", order),
        t!("hooks.prestart-before-createRuntime", "1.0.2", "The prestart hooks MUST be called before the createRuntime hooks.", |c| before(c, "prestart2", "createRuntime1")),
        t!("hooks.createContainer-after-createRuntime", "1.0.2", "The createContainer hooks MUST be called after the createRuntime hooks.", |c| before(c, "createRuntime2", "createContainer1")),
        t!("hooks.prestart-stdin-state", "1.0.0", "The state of the container MUST be passed to hooks over stdin (prestart: status creating).", |c| stdin_state(c, "prestart")),
        t!("hooks.createRuntime-stdin-state", "1.0.2", "The state of the container MUST be passed to hooks over stdin (createRuntime: status creating).", |c| stdin_state(c, "createRuntime")),
        t!("hooks.createContainer-stdin-state", "1.0.2", "The state of the container MUST be passed to hooks over stdin (createContainer: status creating).", |c| stdin_state(c, "createContainer")),
        t!("hooks.startContainer-stdin-state", "1.0.2", "The state of the container MUST be passed to hooks over stdin (startContainer: status created).", |c| stdin_state(c, "startContainer")),
        t!("hooks.poststart-stdin-state", "1.0.0", "The state of the container MUST be passed to hooks over stdin (poststart: status running).", |c| stdin_state(c, "poststart")),
        t!("hooks.poststop-stdin-state", "1.0.0", "The state of the container MUST be passed to hooks over stdin (poststop: status stopped).", |c| stdin_state(c, "poststop")),
        t!("hooks.state-pid", "1.1.0", "pid: for hooks executed in the runtime namespace, it is the pid as seen by the runtime; for hooks executed in the container namespace, it is the pid as seen by the container.", state_pid),
        t!("hooks.prestart-namespace", "1.0.0", "The prestart hooks MUST be executed in the runtime namespace.", |c| namespace(c, "prestart")),
        t!("hooks.createRuntime-namespace", "1.0.2", "The createRuntime hooks MUST be executed in the runtime namespace.", |c| namespace(c, "createRuntime")),
        t!("hooks.createContainer-namespace", "1.0.2", "The createContainer hooks MUST be executed in the container namespace.", |c| namespace(c, "createContainer")),
        t!("hooks.startContainer-namespace", "1.0.2", "The startContainer hooks MUST be executed in the container namespace.", |c| namespace(c, "startContainer")),
        t!("hooks.poststart-namespace", "1.0.0", "The poststart hooks MUST be executed in the runtime namespace.", |c| namespace(c, "poststart")),
        t!("hooks.poststop-namespace", "1.0.0", "The poststop hooks MUST be executed in the runtime namespace.", |c| namespace(c, "poststop")),
        t!("hooks.prestart-timing", "1.0.0", "The prestart hooks MUST be called as part of the create operation after the runtime environment has been created but before the pivot_root or any equivalent operation has been executed.", |c| create_timing(c, "prestart")),
        t!("hooks.createRuntime-timing", "1.0.2", "The createRuntime hooks MUST be called as part of the create operation after the runtime environment has been created but before the pivot_root or any equivalent operation has been executed.", |c| create_timing(c, "createRuntime")),
        t!("hooks.createContainer-timing", "1.0.2", "The createContainer hooks MUST be called as part of the create operation after the runtime environment has been created (mounts set up) but before the pivot_root or any equivalent operation has been executed.", create_container_timing),
        t!("hooks.startContainer-timing", "1.0.2", "The startContainer hooks MUST be called before the user-specified process is executed as part of the start operation.", start_container_timing),
        t!("hooks.poststart-timing", "1.0.0", "The poststart hooks MUST be called after the user-specified process is executed but before the start operation returns.", poststart_timing),
        t!("hooks.poststop-timing", "1.0.0", "The poststop hooks MUST be called after the container is deleted but before the delete operation returns.", poststop_timing),
        t!("hooks.prestart-failure", "1.0.0", "If any prestart hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.", |c| create_failure(c, "prestart1")),
        t!("hooks.createRuntime-failure", "1.0.2", "If any createRuntime hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.", |c| create_failure(c, "createRuntime1")),
        t!("hooks.createContainer-failure", "1.0.2", "If any createContainer hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.", |c| create_failure(c, "createContainer1")),
        t!("hooks.startContainer-failure", "1.0.2", "If any startContainer hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.", |c| start_failure(c, "startContainer1")),
        t!("hooks.poststart-failure", "1.3.0", "If any poststart hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.", |c| start_failure(c, "poststart1")),
        t!("hooks.failure-runs-poststop", "1.0.2", "After a failing createRuntime hook the lifecycle continues at step 12 (destroy), then step 13: the poststop hooks MUST be invoked.", failure_poststop),
        t!("hooks.poststop-failure", "1.0.0", "If any poststop hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the hook had succeeded.", poststop_failure),
        t!("hooks.path-absolute", "1.0.0", "path MUST be absolute: a relative hook path is an invalid value and MUST generate an error.", path_absolute),
        t!("hooks.timeout-positive", "1.0.0", "If set, timeout MUST be greater than zero: timeout 0 is an invalid value and MUST generate an error.", timeout_positive),
        t!("hooks.timeout-aborts", "1.0.0", "timeout is the number of seconds before aborting the hook (a hook over its timeout fails create).", timeout_aborts),
        t!("hooks.args-env", "1.0.0", "args and env with the same semantics as execv's argv and environ.", args_env),
    ]
}

const SCRIPT: &str = r#"name=$1; dir=$2; fail=$3; cg=$4
cat > "$dir/$name.state"
pid=$(sed -n 's/.*"pid"[^0-9]*\([0-9][0-9]*\).*/\1/p' "$dir/$name.state" | head -n 1)
{
for ns in mnt net uts ipc pid; do echo "$ns $(readlink /proc/self/ns/$ns)"; done
echo "cnet $(readlink /proc/$pid/ns/net 2>/dev/null)"
echo "croot $(readlink /proc/$pid/root 2>/dev/null)"
if [ -n "$pid" ] && [ "$pid" != 0 ] && [ -d /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null; then echo "alive yes"; else echo "alive no"; fi
echo "cmdline $(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)"
if [ -n "$cg" ] && [ -d "/sys/fs/cgroup/pids/$cg" ]; then echo "cgroup present"; else echo "cgroup gone"; fi
echo "argv0 $0"
echo "env $HOOKENV"
} > "$dir/$name.info"
cat /proc/self/mountinfo > "$dir/$name.mountinfo"
echo "$name" >> "$dir/order"
case $name in poststart*|poststop*) sleep 0.3 ;; esac
echo done > "$dir/$name.done"
if [ "$fail" = fail ]; then exit 1; fi
exit 0
"#;

/// What one full lifecycle with every hook kind recorded.
pub struct HookRun {
    pub log: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub create: Out,
    pub start: Option<Out>,
    pub delete: Option<Out>,
    pub cpid: i32,
    /// The container's namespaces, read from the host after create.
    pub cns: HashMap<String, String>,
    pub cgroup: String,
    /// Right after start returned: was the process alive, did the cgroup exist?
    pub after_start_alive: Option<bool>,
    pub after_start_cgroup: Option<bool>,
}

impl HookRun {
    pub fn order(&self) -> Vec<String> {
        read(self.log.join("order"))
            .lines()
            .map(str::to_string)
            .collect()
    }
    pub fn ran(&self, name: &str) -> bool {
        self.log.join(format!("{name}.info")).exists()
    }
    pub fn info(&self, name: &str) -> HashMap<String, String> {
        read(self.log.join(format!("{name}.info")))
            .lines()
            .filter_map(|l| {
                l.split_once(' ')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect()
    }
    pub fn state(&self, name: &str) -> Result<Value, Why> {
        let s = read(self.log.join(format!("{name}.state")));
        serde_json::from_str(s.trim()).map_err(|e| {
            Why::Fail(format!(
                "{name} hook's stdin is not a state JSON ({e}): {s:?}"
            ))
        })
    }
    fn pos(&self, name: &str) -> Option<usize> {
        self.order().iter().position(|n| n == name)
    }
}

pub fn hook_entry(kind: &str, name: &str, log: &str, fail: bool, cg: &str) -> Value {
    let (path, argv0, path_env) = if kind == "startContainer" {
        ("/cbin/sh", "sh", "PATH=/bin")
    } else {
        ("/bin/bash", "bash", "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
    };
    json!({
        "path": path,
        "args": [argv0, "-c", SCRIPT, "hookarg0", name, log, if fail {"fail"} else {"ok"}, cg],
        "env": [format!("HOOKENV={name}-env"), path_env]
    })
}

/// Run create/start/wait/delete with two hooks of every kind; `fail` names
/// a hook ("createRuntime1") that exits 1 after recording.
pub fn hook_run(c: &Ctx, fail: Option<&str>) -> Result<HookRun, Why> {
    let log = c.hostdir(&format!("hooklog{}", uniq()));
    let _ = std::fs::set_permissions(&log, std::os::unix::fs::PermissionsExt::from_mode(0o777));
    let cg = format!("cf-hooks-{}-{}", std::process::id(), uniq());
    let mut b = c
        .bundle()
        .bind(&log, "/hooklog")
        .set("/linux/cgroupsPath", json!(format!("/{cg}")));
    let rootfs = b.private_rootfs(&c.rt.rootfs)?;
    std::fs::create_dir_all(rootfs.join("cbin")).map_err(|e| Why::Fail(e.to_string()))?;
    let _ = std::os::unix::fs::symlink("/bin/busybox", rootfs.join("cbin/sh"));
    let mut hooks = serde_json::Map::new();
    for kind in KINDS {
        let logpath = if kind == "startContainer" {
            "/hooklog".to_string()
        } else {
            log.display().to_string()
        };
        let entries: Vec<Value> = (1..=2)
            .map(|i| {
                let name = format!("{kind}{i}");
                hook_entry(kind, &name, &logpath, fail == Some(name.as_str()), &cg)
            })
            .collect();
        hooks.insert(kind.to_string(), Value::Array(entries));
    }
    b.spec["hooks"] = Value::Object(hooks);
    b.spec["process"]["args"] = json!([
        "/bin/sh",
        "-c",
        "echo process >> /hooklog/order; exec sleep 0.5"
    ]);
    b.write();
    let id = c.id();
    let append = |m: &str| {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(log.join("order"))
        {
            let _ = writeln!(f, "{m}");
        }
    };
    let create = c.rt(&["create", "--bundle", &b.dir.to_string_lossy(), &id]);
    append("create-returned");
    let mut run = HookRun {
        log: log.clone(),
        id: id.clone(),
        bundle: b.dir.clone(),
        create,
        start: None,
        delete: None,
        cpid: 0,
        cns: HashMap::new(),
        cgroup: cg.clone(),
        after_start_alive: None,
        after_start_cgroup: None,
    };
    if !run.create.ok() {
        return Ok(run);
    }
    let st = c.rt(&["state", &id]).json().unwrap_or(Value::Null);
    run.cpid = st["pid"].as_i64().unwrap_or(0) as i32;
    for ns in ["mnt", "net", "uts", "ipc", "pid"] {
        run.cns
            .insert(ns.to_string(), ns_of(&run.cpid.to_string(), ns));
    }
    let start = c.rt(&["start", &id]);
    append("start-returned");
    let started = start.ok();
    run.start = Some(start);
    if !started {
        std::thread::sleep(std::time::Duration::from_millis(100));
        run.after_start_alive = Some(alive(run.cpid));
        run.after_start_cgroup = Some(v1_hierarchy("pids").is_some_and(|p| p.join(&cg).exists()));
    }
    if started {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            let s = c
                .rt(&["state", &id])
                .json()
                .ok()
                .and_then(|v| v["status"].as_str().map(str::to_string));
            if s.as_deref() == Some("stopped") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let delete = c.rt(&["delete", &id]);
    append("delete-returned");
    run.delete = Some(delete);
    Ok(run)
}

/// A full, successful hook run.
fn good_run(c: &Ctx) -> Result<HookRun, Why> {
    let r = hook_run(c, None)?;
    ensure!(
        r.create.ok(),
        "create with hooks failed: {}",
        r.create.brief()
    );
    if let Some(s) = &r.start {
        ensure!(s.ok(), "start with hooks failed: {}", s.brief());
    }
    Ok(r)
}

fn invoked(c: &Ctx, kind: &str) -> Res {
    let r = good_run(c)?;
    let name = format!("{kind}1");
    ensure!(
        r.ran(&name),
        "the {kind} hook was not invoked (order: {:?})",
        r.order()
    );
    let argv0 = r.info(&name).get("argv0").cloned().unwrap_or_default();
    ensure!(argv0 == "hookarg0", "hook args not passed: $0 is {argv0:?}");
    Ok(())
}

fn order(c: &Ctx) -> Res {
    let r = good_run(c)?;
    let want = [
        "prestart1",
        "prestart2",
        "createRuntime1",
        "createRuntime2",
        "createContainer1",
        "createContainer2",
        "create-returned",
        "startContainer1",
        "startContainer2",
        "poststart1",
        "poststart2",
        "start-returned",
        "poststop1",
        "poststop2",
        "delete-returned",
    ];
    let got: Vec<String> = r.order().into_iter().filter(|n| n != "process").collect();
    ensure!(got == want, "hook order {got:?}");
    Ok(())
}

fn before(c: &Ctx, a: &str, b: &str) -> Res {
    let r = good_run(c)?;
    match (r.pos(a), r.pos(b)) {
        (Some(x), Some(y)) if x < y => Ok(()),
        _ => Err(Why::Fail(format!("{a} not before {b}: {:?}", r.order()))),
    }
}

fn stdin_state(c: &Ctx, kind: &str) -> Res {
    let r = good_run(c)?;
    let name = format!("{kind}1");
    ensure!(r.ran(&name), "the {kind} hook was not invoked");
    let v = r.state(&name)?;
    let want = match kind {
        "startContainer" => "created",
        "poststart" => "running",
        "poststop" => "stopped",
        _ => "creating",
    };
    // Which pid it is (runtime's or container's view) is hooks.state-pid.
    check_state_as(&v, &r.id, &r.bundle, want, false)
        .map_err(|e| Why::Fail(format!("{kind} stdin state: {e}")))
}

fn state_pid(c: &Ctx) -> Res {
    let r = good_run(c)?;
    let mut bad = Vec::new();
    for kind in KINDS {
        let v = r.state(&format!("{kind}1"))?;
        let pid = v["pid"].as_i64().unwrap_or(0) as i32;
        let want = if kind == "createContainer" || kind == "startContainer" {
            1
        } else {
            r.cpid
        };
        // pid is OPTIONAL once the container is stopped.
        let optional = kind == "poststop" && pid == 0;
        if pid != want && !optional {
            bad.push(format!("{kind}: pid {pid} (want {want})"));
        }
    }
    ensure!(bad.is_empty(), "{}", bad.join("; "));
    Ok(())
}

fn namespace(c: &Ctx, kind: &str) -> Res {
    let r = good_run(c)?;
    let name = format!("{kind}1");
    ensure!(r.ran(&name), "the {kind} hook was not invoked");
    let info = r.info(&name);
    let container = kind == "createContainer" || kind == "startContainer";
    let mut bad = Vec::new();
    for ns in ["mnt", "net", "uts", "ipc", "pid"] {
        let hook = info.get(ns).cloned().unwrap_or_default();
        let cns = r.cns.get(ns).cloned().unwrap_or_default();
        if container {
            if hook != cns {
                bad.push(format!("{ns}: hook {hook}, container {cns}"));
            }
        } else if ns == "mnt" {
            // The runtime may run in a private mount namespace (a wrapper):
            // the hook must not be in the container's.
            if hook == cns {
                bad.push(format!("mnt: hook is in the container's {cns}"));
            }
        } else if hook != ns_of("self", ns) {
            bad.push(format!("{ns}: hook {hook}, runtime {}", ns_of("self", ns)));
        }
    }
    ensure!(bad.is_empty(), "{kind} hook namespaces: {}", bad.join("; "));
    Ok(())
}

fn create_timing(c: &Ctx, kind: &str) -> Res {
    let r = good_run(c)?;
    let name = format!("{kind}1");
    ensure!(
        r.pos(&name)
            .zip(r.pos("create-returned"))
            .is_some_and(|(a, b)| a < b),
        "{kind} did not run during create: {:?}",
        r.order()
    );
    let info = r.info(&name);
    let cnet = info.get("cnet").cloned().unwrap_or_default();
    ensure!(
        !cnet.is_empty() && cnet != ns_of("self", "net"),
        "container namespaces not yet created when {kind} ran (net {cnet:?})"
    );
    let croot = info.get("croot").cloned().unwrap_or_default();
    ensure!(
        croot == "/",
        "the container process's root was {croot:?} when {kind} ran (pivot_root already done)"
    );
    Ok(())
}

fn create_container_timing(c: &Ctx) -> Res {
    let r = good_run(c)?;
    ensure!(
        r.pos("createContainer1")
            .zip(r.pos("create-returned"))
            .is_some_and(|(a, b)| a < b),
        "createContainer did not run during create: {:?}",
        r.order()
    );
    // It wrote to a host path that is not mounted in the container: the
    // root was not pivoted yet. Its mount table has the container's mounts.
    let mi = read(r.log.join("createContainer1.mountinfo"));
    let has_tmp = mi.lines().any(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        f.get(4)
            .is_some_and(|mp| mp.ends_with("/tmp") && *mp != "/tmp")
            && l.contains(" - tmpfs ")
    });
    ensure!(has_tmp, "the container's mounts (the /tmp tmpfs under the rootfs) were not set up when createContainer ran");
    Ok(())
}

fn start_container_timing(c: &Ctx) -> Res {
    let r = good_run(c)?;
    let (p, s, cr, sr) = (
        r.pos("process"),
        r.pos("startContainer2"),
        r.pos("create-returned"),
        r.pos("start-returned"),
    );
    let ok = match (cr, s, p, sr) {
        (Some(a), Some(b), Some(c2), Some(d)) => a < b && b < c2 && b < d,
        _ => false,
    };
    ensure!(
        ok,
        "startContainer not after start was called and before the process: {:?}",
        r.order()
    );
    Ok(())
}

fn poststart_timing(c: &Ctx) -> Res {
    // Three runs: a runtime that races the exec shows it in one of them.
    for _ in 0..3 {
        let r = good_run(c)?;
        let order = r.order();
        let (ps, cr, sr) = (
            r.pos("poststart2"),
            r.pos("create-returned"),
            r.pos("start-returned"),
        );
        ensure!(
            matches!((cr, ps, sr), (Some(a), Some(b), Some(d)) if a < b && b < d),
            "poststart not between start and its return: {order:?}"
        );
        let cmd = r
            .info("poststart1")
            .get("cmdline")
            .cloned()
            .unwrap_or_default();
        ensure!(
            cmd.starts_with("/bin/sh -c echo process") || cmd.starts_with("sleep"),
            "the user-specified process was not executing when poststart ran (cmdline {cmd:?})"
        );
        ensure!(
            r.log.join("poststart2.done").exists(),
            "poststart still running when start returned"
        );
    }
    Ok(())
}

fn poststop_timing(c: &Ctx) -> Res {
    let r = good_run(c)?;
    let d = r.delete.as_ref().map(|o| o.ok()).unwrap_or(false);
    ensure!(
        d,
        "delete failed: {:?}",
        r.delete.as_ref().map(|o| o.brief())
    );
    let info = r.info("poststop1");
    ensure!(!info.is_empty(), "poststop did not run");
    ensure!(
        info.get("alive").map(String::as_str) == Some("no"),
        "the container process was alive when poststop ran"
    );
    ensure!(
        info.get("cgroup").map(String::as_str) == Some("gone"),
        "the container's cgroup still existed when poststop ran (not deleted yet)"
    );
    ensure!(
        r.pos("poststop2")
            .zip(r.pos("delete-returned"))
            .is_some_and(|(a, b)| a < b)
            && r.log.join("poststop2.done").exists(),
        "poststop not finished before delete returned: {:?}",
        r.order()
    );
    Ok(())
}

fn gone(c: &Ctx, r: &HookRun) -> Result<(), String> {
    if c.rt(&["state", &r.id]).ok() {
        return Err(format!(
            "the container still exists (status {})",
            c.rt(&["state", &r.id])
                .json()
                .map(|v| v["status"].to_string())
                .unwrap_or_default()
        ));
    }
    if let Some(p) = v1_hierarchy("pids") {
        if p.join(&r.cgroup).exists() {
            return Err("its cgroup still exists".into());
        }
    }
    if r.cpid > 0 && alive(r.cpid) {
        return Err("its process is alive".into());
    }
    Ok(())
}

fn create_failure(c: &Ctx, hook: &str) -> Res {
    let r = hook_run(c, Some(hook))?;
    ensure!(r.ran(hook), "{hook} did not run");
    ensure!(!r.create.ok(), "create succeeded although {hook} failed");
    gone(c, &r).map_err(|e| Why::Fail(format!("after {hook} failed: {e}")))?;
    Ok(())
}

fn start_failure(c: &Ctx, hook: &str) -> Res {
    let r = hook_run(c, Some(hook))?;
    ensure!(r.create.ok(), "create failed: {}", r.create.brief());
    ensure!(r.ran(hook), "{hook} did not run (order {:?})", r.order());
    let s = r.start.as_ref().map(|o| o.ok()).unwrap_or(true);
    ensure!(!s, "start succeeded although {hook} failed");
    if hook.starts_with("startContainer") {
        ensure!(
            !r.order().iter().any(|n| n == "process"),
            "the user process ran although startContainer failed"
        );
    }
    // "stop the container, and continue the lifecycle at step 12": right
    // after the failed start (before any delete) the process is gone and
    // what create made is undone.
    ensure!(
        r.after_start_alive == Some(false),
        "the container process was still alive after the failed start"
    );
    ensure!(
        r.after_start_cgroup == Some(false),
        "the container's cgroup still existed after the failed start (not destroyed)"
    );
    Ok(())
}

fn failure_poststop(c: &Ctx) -> Res {
    let r = hook_run(c, Some("createRuntime1"))?;
    ensure!(
        !r.create.ok(),
        "create succeeded although createRuntime failed"
    );
    ensure!(
        r.ran("poststop1"),
        "poststop hooks did not run after the failed create (order {:?})",
        r.order()
    );
    Ok(())
}

fn poststop_failure(c: &Ctx) -> Res {
    let r = hook_run(c, Some("poststop1"))?;
    let d = r
        .delete
        .as_ref()
        .ok_or_else(|| Why::Fail("no delete".into()))?;
    ensure!(
        d.ok(),
        "delete failed because a poststop hook failed: {}",
        d.brief()
    );
    ensure!(
        r.ran("poststop2"),
        "the remaining poststop hook did not run"
    );
    ensure!(!c.rt(&["state", &r.id]).ok(), "the container still exists");
    Ok(())
}

fn path_absolute(c: &Ctx) -> Res {
    let log = c.hostdir("rel");
    let mut e = hook_entry(
        "createRuntime",
        "rel",
        &log.display().to_string(),
        false,
        "",
    );
    e["path"] = json!("bash");
    let b = c.bundle().set(
        "/hooks",
        json!({"createRuntime": [e.clone()], "prestart": [e]}),
    );
    let o = c.try_create(&b, &[]);
    ensure!(
        o.is_err(),
        "create accepted a relative hook path (hook ran: {})",
        log.join("rel.info").exists()
    );
    Ok(())
}

fn timeout_positive(c: &Ctx) -> Res {
    let log = c.hostdir("t0");
    let mut e = hook_entry("prestart", "t0", &log.display().to_string(), false, "");
    e["timeout"] = json!(0);
    let b = c.bundle().set("/hooks", json!({"prestart": [e]}));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "create accepted a hook timeout of 0"
    );
    Ok(())
}

fn timeout_aborts(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/hooks",
        json!({"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}),
    );
    let t0 = std::time::Instant::now();
    let o = c.try_create(&b, &[]);
    let secs = t0.elapsed().as_secs();
    ensure!(o.is_err(), "create succeeded with a hook over its timeout");
    ensure!(
        secs < 15,
        "the hook was not aborted at its timeout ({secs} s)"
    );
    Ok(())
}

fn args_env(c: &Ctx) -> Res {
    let r = good_run(c)?;
    let info = r.info("prestart1");
    ensure!(
        info.get("env").map(String::as_str) == Some("prestart1-env"),
        "hook env not applied: {info:?}"
    );
    ensure!(
        info.get("argv0").map(String::as_str) == Some("hookarg0"),
        "hook args not applied: {info:?}"
    );
    Ok(())
}
