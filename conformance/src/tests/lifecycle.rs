//! runtime.md (scope, state, lifecycle, errors, operations) and
//! runtime-linux.md.

use std::path::Path;

use serde_json::{json, Value};

use crate::harness::*;
use crate::tests::Test;
use crate::{ensure, fail, t};

pub fn tests() -> Vec<Test> {
    vec![
        t!("lifecycle.operations", "1.0.0",
           "The entity using a runtime to create a container MUST be able to use the operations defined in this specification against that same container; runtimes MUST support the operations (state, create, start, kill, delete).",
           operations),
        t!("state.requires-id", "1.0.0",
           "Query State: this operation MUST generate an error if it is not provided the ID of a container.",
           |c| requires_id(c, "state")),
        t!("state.nonexistent-errors", "1.0.0",
           "Attempting to query a container that does not exist MUST generate an error.",
           |c| nonexistent(c, &["state"])),
        t!("state.schema-created", "1.0.0",
           "When serialized in JSON, the format MUST adhere to the JSON Schema schema/state-schema.json (status created; pid REQUIRED on Linux).",
           |c| state_schema(c, "created")),
        t!("state.schema-running", "1.0.0",
           "This operation MUST return the state of a container as specified in the State section (status running, pid of the container process).",
           |c| state_schema(c, "running")),
        t!("state.schema-stopped", "1.0.0",
           "State JSON adheres to schema/state-schema.json after the container process exited (status stopped).",
           |c| state_schema(c, "stopped")),
        t!("state.status-values", "1.0.0",
           "status is created after create, running while the program runs, stopped after it exits; additional values MUST be used to represent new runtime states not defined above.",
           status_values),
        t!("state.annotations", "1.0.0",
           "annotations (map, OPTIONAL) contains the list of annotations associated with the container.",
           state_annotations),
        t!("create.duplicate-id-errors", "1.0.0",
           "The id MUST be unique across all containers on this host: if the ID provided is not unique, the implementation MUST generate an error and a new container MUST NOT be created.",
           duplicate_id),
        t!("create.requires-id-and-bundle", "1.0.0",
           "Create: this operation MUST generate an error if it is not provided a path to the bundle and the container ID to associate with the container.",
           create_requires),
        t!("create.invalid-id-errors", "1.0.0",
           "If the ID provided ... is not valid in any other way, the implementation MUST generate an error and a new container MUST NOT be created.",
           invalid_id),
        t!("create.creates-container", "1.0.0",
           "This operation MUST create a new container.",
           creates_container),
        t!("create.process-not-run", "1.0.0",
           "While the resources requested in config.json MUST be created, the user-specified program MUST NOT be run at this time; process.args MUST NOT be applied until triggered by the start operation.",
           process_not_run),
        t!("create.config-applied", "1.0.0",
           "All of the properties configured in config.json except for process MUST be applied (namespaces, hostname, mounts and cgroup in place before start).",
           config_applied),
        t!("create.config-changes-ignored", "1.0.0",
           "Any updates to config.json after this step MUST NOT affect the container.",
           config_changes_ignored),
        t!("create.unapplicable-config-errors", "1.0.0",
           "If the runtime cannot apply a property as specified in the configuration, it MUST generate an error and a new container MUST NOT be created.",
           unapplicable_config),
        t!("create.error-leaves-no-trace", "1.0.0",
           "Unless otherwise stated, generating an error MUST leave the state of the environment as if the operation were never attempted.",
           error_no_trace),
        t!("start.requires-id", "1.0.0",
           "Start: this operation MUST generate an error if it is not provided the container ID.",
           |c| requires_id(c, "start")),
        t!("start.nonexistent-errors", "1.0.0",
           "Attempting to start a container that is not created MUST generate an error (no such container).",
           |c| nonexistent(c, &["start"])),
        t!("start.running-errors", "1.0.0",
           "Attempting to start a container that is not created (running) MUST have no effect on the container and MUST generate an error.",
           start_running),
        t!("start.stopped-errors", "1.0.0",
           "Attempting to start a container that is not created (stopped) MUST have no effect on the container and MUST generate an error.",
           start_stopped),
        t!("start.runs-process", "1.0.0",
           "This operation MUST run the user-specified program as specified by process.",
           start_runs),
        t!("start.without-process-errors", "1.0.0",
           "This operation MUST generate an error if process was not set.",
           start_without_process),
        t!("kill.requires-id", "1.0.0",
           "Kill: this operation MUST generate an error if it is not provided the container ID.",
           |c| requires_id(c, "kill")),
        t!("kill.nonexistent-errors", "1.0.0",
           "Attempting to send a signal to a container that is neither created nor running (does not exist) MUST generate an error.",
           |c| nonexistent(c, &["kill"])),
        t!("kill.stopped-errors", "1.0.0",
           "Attempting to send a signal to a container that is neither created nor running MUST have no effect on the container and MUST generate an error.",
           kill_stopped),
        t!("kill.signal-running", "1.0.0",
           "This operation MUST send the specified signal to the container process (running container, SIGUSR1 caught by the process).",
           kill_running),
        t!("kill.signal-created", "1.0.0",
           "This operation MUST send the specified signal to the container process (created container, SIGKILL).",
           kill_created),
        t!("delete.requires-id", "1.0.0",
           "Delete: this operation MUST generate an error if it is not provided the container ID.",
           |c| requires_id(c, "delete")),
        t!("delete.nonexistent-errors", "1.0.0",
           "Attempting to delete a container that is not stopped (does not exist) MUST generate an error.",
           |c| nonexistent(c, &["delete"])),
        t!("delete.running-errors", "1.0.0",
           "Attempting to delete a container that is not stopped (running) MUST have no effect on the container and MUST generate an error.",
           delete_running),
        t!("delete.created-errors", "1.0.0",
           "Attempting to delete a container that is not stopped (created) MUST have no effect on the container and MUST generate an error.",
           delete_created),
        t!("delete.removes-resources", "1.0.0",
           "Deleting a container MUST delete the resources that were created during the create step; the container MUST be destroyed by undoing the steps performed during create.",
           delete_removes),
        t!("delete.keeps-foreign-resources", "1.0.0",
           "Resources associated with the container, but not created by this container, MUST NOT be deleted (a bind-mount source, a joined namespace).",
           delete_keeps_foreign),
        t!("linux.dev-symlinks", "1.0.0",
           "Runtimes MUST create the symlinks /dev/fd -> /proc/self/fd, /dev/stdin, /dev/stdout, /dev/stderr -> /proc/self/fd/0,1,2 if the source exists after processing mounts.",
           dev_symlinks),
        t!("linux.default-fds", "1.0.0",
           "By default, only the stdin, stdout and stderr file descriptors are kept open for the application by the runtime.",
           default_fds),
    ]
}

/// A bundle with a host directory bound at /out.
pub fn with_out(c: &Ctx) -> (Bundle, std::path::PathBuf) {
    let out = c.hostdir(&format!("out{}", uniq()));
    let _ = std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o777));
    (c.bundle().bind(&out, "/out"), out)
}

fn operations(c: &Ctx) -> Res {
    let b = c.bundle().args(&["/bin/probe", "sleep", "60"]);
    let ctr = c.create(&b)?;
    c.state(&ctr)?;
    c.rt(&["start", &ctr.id]).must("start")?;
    c.state(&ctr)?;
    c.rt(&["kill", &ctr.id, "KILL"]).must("kill")?;
    ensure!(c.wait_status(&ctr, "stopped", 10), "not stopped after kill");
    c.rt(&["delete", &ctr.id]).must("delete")?;
    Ok(())
}

fn requires_id(c: &Ctx, op: &str) -> Res {
    let o = c.rt(&[op]);
    ensure!(!o.ok(), "`{op}` without an id succeeded: {}", o.brief());
    Ok(())
}

fn nonexistent(c: &Ctx, op: &[&str]) -> Res {
    let id = format!("cf-missing-{}", uniq());
    let mut args = op.to_vec();
    args.push(&id);
    if op[0] == "kill" {
        args.push("KILL");
    }
    let o = c.rt(&args);
    ensure!(
        !o.ok(),
        "`{}` of a container that does not exist succeeded: {}",
        op[0],
        o.brief()
    );
    Ok(())
}

/// Check a state document against schema/state-schema.json and the State
/// section.
pub fn check_state(v: &Value, id: &str, bundle: &Path, status: &str) -> Result<(), String> {
    check_state_as(v, id, bundle, status, true)
}

/// `live`: the pid must be a live process as seen from here (not so for
/// the state a hook in the container namespace gets).
pub fn check_state_as(
    v: &Value,
    id: &str,
    bundle: &Path,
    status: &str,
    live: bool,
) -> Result<(), String> {
    let o = v.as_object().ok_or("state is not a JSON object")?;
    for k in ["ociVersion", "id", "status", "bundle"] {
        if !o.contains_key(k) {
            return Err(format!("required property {k} missing: {v}"));
        }
    }
    let ver = o["ociVersion"]
        .as_str()
        .ok_or("ociVersion is not a string")?;
    let semver = {
        let core = ver.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        parts.len() == 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars().all(|c| c.is_ascii_digit())
                    && (p.len() == 1 || !p.starts_with('0'))
            })
    };
    if !semver {
        return Err(format!("ociVersion {ver:?} is not SemVer"));
    }
    if o["id"] != id {
        return Err(format!("id is {} (want {id})", o["id"]));
    }
    let st = o["status"].as_str().ok_or("status is not a string")?;
    if !["creating", "created", "running", "stopped"].contains(&st) {
        return Err(format!("status {st:?} is not one of the schema's values"));
    }
    if st != status {
        return Err(format!("status is {st:?} (want {status:?})"));
    }
    let b = o["bundle"].as_str().ok_or("bundle is not a string")?;
    if !b.starts_with('/') {
        return Err(format!("bundle {b:?} is not absolute"));
    }
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if canon(Path::new(b)) != canon(bundle) {
        return Err(format!("bundle is {b} (want {})", bundle.display()));
    }
    if let Some(p) = o.get("pid") {
        let n = p.as_i64().ok_or("pid is not an integer")?;
        if n < 0 {
            return Err("pid is negative".into());
        }
    }
    if status == "created" || status == "running" {
        let pid = o.get("pid").and_then(Value::as_i64).unwrap_or(0);
        if pid <= 0 {
            return Err(format!(
                "pid is REQUIRED when status is {status} on Linux: {v}"
            ));
        }
        if live && !alive(pid as i32) {
            return Err(format!("pid {pid} is not a live process"));
        }
    }
    if let Some(a) = o.get("annotations") {
        let m = a.as_object().ok_or("annotations is not a map")?;
        if m.values().any(|x| !x.is_string()) {
            return Err("annotation values are not all strings".into());
        }
    }
    Ok(())
}

fn state_schema(c: &Ctx, status: &str) -> Res {
    let args: &[&str] = if status == "stopped" {
        &["/bin/probe", "exit", "0"]
    } else {
        &["/bin/probe", "sleep", "60"]
    };
    let b = c.bundle().args(args);
    let ctr = c.create(&b)?;
    if status != "created" {
        c.rt(&["start", &ctr.id]).must("start")?;
    }
    if status == "stopped" {
        ensure!(c.wait_status(&ctr, "stopped", 10), "did not stop");
    }
    let v = c.state(&ctr)?;
    check_state(&v, &ctr.id, &ctr.bundle, status).map_err(Why::Fail)
}

fn status_values(c: &Ctx) -> Res {
    let b = c.bundle().args(&["/bin/probe", "sleep", "1"]);
    let ctr = c.create(&b)?;
    let s1 = c.status(&ctr);
    c.rt(&["start", &ctr.id]).must("start")?;
    let s2 = c.status(&ctr);
    let stopped = c.wait_status(&ctr, "stopped", 10);
    let s3 = c.status(&ctr);
    ensure!(
        s1 == "created" && s2 == "running" && stopped,
        "statuses after create, start, exit: {s1}, {s2}, {s3} (want created, running, stopped)"
    );
    Ok(())
}

fn state_annotations(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/annotations",
        json!({"org.example.conformance": "yes", "com.example.empty": ""}),
    );
    let ctr = c.create(&b)?;
    let v = c.state(&ctr)?;
    ensure!(
        v["annotations"]["org.example.conformance"] == "yes"
            && v["annotations"]["com.example.empty"] == "",
        "state annotations: {}",
        v["annotations"]
    );
    Ok(())
}

fn duplicate_id(c: &Ctx) -> Res {
    let b = c.bundle().args(&["/bin/probe", "sleep", "60"]);
    let ctr = c.create(&b)?;
    let pid = c.pid(&ctr);
    let b2 = c.bundle();
    b2.write();
    let o = c.rt(&["create", "--bundle", &b2.dir.to_string_lossy(), &ctr.id]);
    ensure!(!o.ok(), "a second create with the same id succeeded");
    let v = c.state(&ctr)?;
    ensure!(
        v["status"] == "created"
            && v["pid"] == pid
            && v["bundle"]
                .as_str()
                .is_some_and(|s| Path::new(s) == ctr.bundle),
        "the first container changed: {v}"
    );
    Ok(())
}

fn create_requires(c: &Ctx) -> Res {
    let b = c.bundle();
    b.write();
    let o = c.rt(&["create", "--bundle", &b.dir.to_string_lossy()]);
    ensure!(!o.ok(), "create without an id succeeded");
    let id = c.id();
    let o = c.rt(&["create", "--bundle", "/nonexistent/conformance-bundle", &id]);
    ensure!(
        !o.ok(),
        "create with a bundle path that does not exist succeeded"
    );
    ensure!(
        !c.rt(&["state", &id]).ok(),
        "a container exists after the failed create"
    );
    Ok(())
}

fn invalid_id(c: &Ctx) -> Res {
    let b = c.bundle();
    b.write();
    let tag = format!("cf-escape-{}", uniq());
    for id in [format!("../{tag}"), format!("a/{tag}"), String::new()] {
        let o = c.rt(&["create", "--bundle", &b.dir.to_string_lossy(), &id]);
        let _ = c.rt(&["delete", "--force", &id]);
        ensure!(!o.ok(), "create with the invalid id {id:?} succeeded");
    }
    let parent = c.rt.root.parent().unwrap_or(Path::new("/"));
    ensure!(
        !parent.join(&tag).exists(),
        "an id with .. created state outside --root"
    );
    Ok(())
}

fn creates_container(c: &Ctx) -> Res {
    let ctr = c.create(&c.bundle())?;
    let v = c.state(&ctr)?;
    ensure!(
        v["status"] == "created",
        "status after create: {}",
        v["status"]
    );
    Ok(())
}

fn process_not_run(c: &Ctx) -> Res {
    let (b, out) = with_out(c);
    let b = b.sh("echo ran > /out/marker");
    let ctr = c.create(&b)?;
    std::thread::sleep(std::time::Duration::from_millis(300));
    ensure!(
        !out.join("marker").exists(),
        "the process ran during create"
    );
    c.rt(&["start", &ctr.id]).must("start")?;
    ensure!(
        eventually(5000, || out.join("marker").exists()),
        "the process did not run on start"
    );
    Ok(())
}

fn config_applied(c: &Ctx) -> Res {
    let cg = format!("/cf-applied-{}-{}", std::process::id(), uniq());
    let b = c
        .bundle()
        .set("/hostname", json!("applied-host"))
        .set("/linux/cgroupsPath", json!(cg));
    let ctr = c.create(&b)?;
    let pid = c.pid(&ctr).to_string();
    for ns in ["net", "uts", "ipc", "mnt", "pid"] {
        ensure!(
            ns_of(&pid, ns) != ns_of("self", ns) && !ns_of(&pid, ns).is_empty(),
            "{ns} namespace not created before start"
        );
    }
    let host = sh(&format!(
        "nsenter -t {pid} -u cat /proc/sys/kernel/hostname"
    ));
    ensure!(
        host.stdout.trim() == "applied-host",
        "hostname before start: {}",
        host.brief()
    );
    let mi = read(format!("/proc/{pid}/mountinfo"));
    ensure!(
        mount_at(&mi, "/tmp").is_some_and(|m| m.fstype == "tmpfs"),
        "the /tmp tmpfs is not mounted before start"
    );
    let cgroup = read(format!("/proc/{pid}/cgroup"));
    ensure!(
        cgroup.lines().any(|l| l.ends_with(&cg)),
        "the process is not in cgroupsPath {cg} before start: {cgroup}"
    );
    Ok(())
}

fn config_changes_ignored(c: &Ctx) -> Res {
    let mut b = c.bundle().set("/hostname", json!("before"));
    let ctr = c.create(&b)?;
    b.spec["process"]["args"] = json!(["/bin/probe", "exit", "42"]);
    b.spec["hostname"] = json!("after");
    b.write();
    c.rt(&["start", &ctr.id]).must("start")?;
    ensure!(c.wait_status(&ctr, "stopped", 10), "did not stop");
    let out = read(&ctr.stdout);
    let v: Value = serde_json::from_str(out.trim())
        .map_err(|_| Why::Fail(format!("the edited args ran, not the original: {out:?}")))?;
    ensure!(
        v["hostname"] == "before",
        "hostname {} (config.json edited after create took effect)",
        v["hostname"]
    );
    Ok(())
}

fn unapplicable_config(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .mount(json!({"destination": "/bad", "type": "conformancefs", "source": "none"}));
    match c.try_create(&b, &[]) {
        Ok(ctr) => fail!(
            "create succeeded with a mount of an unknown filesystem type (status {})",
            c.status(&ctr)
        ),
        Err(_) => Ok(()),
    }
}

fn error_no_trace(c: &Ctx) -> Res {
    let cg = format!("cf-notrace-{}-{}", std::process::id(), uniq());
    let b = c
        .bundle()
        .set("/linux/cgroupsPath", json!(format!("/{cg}")))
        .mount(json!({"destination": "/bad", "type": "conformancefs", "source": "none"}));
    b.write();
    let id = c.id();
    let o = c.rt(&["create", "--bundle", &b.dir.to_string_lossy(), &id]);
    ensure!(!o.ok(), "create succeeded with an unknown filesystem type");
    ensure!(
        !c.rt(&["state", &id]).ok(),
        "state still finds the container"
    );
    let left: Vec<String> = ["memory", "pids", "cpu", "devices", "freezer"]
        .iter()
        .filter_map(|h| v1_hierarchy(h).map(|p| p.join(&cg)))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    ensure!(left.is_empty(), "cgroups left behind: {left:?}");
    ensure!(!c.rt.root.join(&id).exists(), "state directory left behind");
    let mi = read("/proc/self/mountinfo");
    ensure!(
        !mi.contains(&*b.dir.to_string_lossy()),
        "mounts left behind under the bundle"
    );
    Ok(())
}

fn start_running(c: &Ctx) -> Res {
    let ctr = c.create(&c.bundle().args(&["/bin/probe", "sleep", "60"]))?;
    c.rt(&["start", &ctr.id]).must("start")?;
    let pid = c.pid(&ctr);
    let o = c.rt(&["start", &ctr.id]);
    ensure!(!o.ok(), "a second start succeeded");
    ensure!(
        c.status(&ctr) == "running" && c.pid(&ctr) == pid && alive(pid),
        "the container changed"
    );
    Ok(())
}

fn start_stopped(c: &Ctx) -> Res {
    let (b, out) = with_out(c);
    let b = b.sh("echo run >> /out/count");
    let ctr = c.create(&b)?;
    c.rt(&["start", &ctr.id]).must("start")?;
    ensure!(c.wait_status(&ctr, "stopped", 10), "did not stop");
    let o = c.rt(&["start", &ctr.id]);
    ensure!(!o.ok(), "start of a stopped container succeeded");
    std::thread::sleep(std::time::Duration::from_millis(200));
    ensure!(
        read(out.join("count")).lines().count() == 1,
        "the process ran again"
    );
    ensure!(
        c.status(&ctr) == "stopped",
        "status changed to {}",
        c.status(&ctr)
    );
    Ok(())
}

fn start_runs(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set("/process/env", json!(["PATH=/bin", "CONFORMANCE=start"]));
    let (_ctr, out) = c.create_start_wait(&b)?;
    let v: Value = serde_json::from_str(out.trim())
        .map_err(|_| Why::Fail(format!("no probe report: {out:?}")))?;
    ensure!(
        v["env"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x == "CONFORMANCE=start")),
        "the process did not run as specified: {out}"
    );
    Ok(())
}

fn start_without_process(c: &Ctx) -> Res {
    let b = c.bundle().edit(|s| {
        if let Some(o) = s.as_object_mut() {
            o.remove("process");
        }
    });
    match c.try_create(&b, &[]) {
        Err(_) => Ok(()),
        Ok(ctr) => {
            let o = c.rt(&["start", &ctr.id]);
            ensure!(!o.ok(), "start succeeded without process");
            Ok(())
        }
    }
}

fn kill_stopped(c: &Ctx) -> Res {
    let ctr = c.create(&c.bundle().args(&["/bin/probe", "exit", "0"]))?;
    c.rt(&["start", &ctr.id]).must("start")?;
    ensure!(c.wait_status(&ctr, "stopped", 10), "did not stop");
    let o = c.rt(&["kill", &ctr.id, "KILL"]);
    ensure!(!o.ok(), "kill of a stopped container succeeded");
    ensure!(
        c.status(&ctr) == "stopped",
        "status changed to {}",
        c.status(&ctr)
    );
    Ok(())
}

fn kill_running(c: &Ctx) -> Res {
    let (b, out) = with_out(c);
    let b = b.sh("trap 'echo USR1 > /out/got; exit 3' USR1; echo ready > /out/ready; while true; do sleep 0.05; done");
    let ctr = c.create(&b)?;
    c.rt(&["start", &ctr.id]).must("start")?;
    ensure!(
        eventually(5000, || out.join("ready").exists()),
        "process never got ready"
    );
    c.rt(&["kill", &ctr.id, "USR1"]).must("kill USR1")?;
    ensure!(
        eventually(5000, || out.join("got").exists()),
        "the process never received SIGUSR1"
    );
    ensure!(
        c.wait_status(&ctr, "stopped", 10),
        "status {} after the process exited",
        c.status(&ctr)
    );
    Ok(())
}

fn kill_created(c: &Ctx) -> Res {
    let ctr = c.create(&c.bundle())?;
    let pid = c.pid(&ctr);
    c.rt(&["kill", &ctr.id, "KILL"])
        .must("kill of a created container")?;
    ensure!(
        eventually(5000, || !alive(pid)),
        "the container process survived SIGKILL"
    );
    ensure!(
        c.wait_status(&ctr, "stopped", 5),
        "status {} after SIGKILL",
        c.status(&ctr)
    );
    Ok(())
}

fn delete_running(c: &Ctx) -> Res {
    let ctr = c.create(&c.bundle().args(&["/bin/probe", "sleep", "60"]))?;
    c.rt(&["start", &ctr.id]).must("start")?;
    let pid = c.pid(&ctr);
    let o = c.rt(&["delete", &ctr.id]);
    ensure!(!o.ok(), "delete of a running container succeeded");
    ensure!(
        alive(pid) && c.status(&ctr) == "running",
        "the container changed (status {})",
        c.status(&ctr)
    );
    Ok(())
}

fn delete_created(c: &Ctx) -> Res {
    let ctr = c.create(&c.bundle())?;
    let pid = c.pid(&ctr);
    let o = c.rt(&["delete", &ctr.id]);
    ensure!(!o.ok(), "delete of a created container succeeded");
    ensure!(
        alive(pid) && c.status(&ctr) == "created",
        "the container changed (status {})",
        c.status(&ctr)
    );
    Ok(())
}

fn delete_removes(c: &Ctx) -> Res {
    let cg = format!("cf-del-{}-{}", std::process::id(), uniq());
    let b = c
        .bundle()
        .args(&["/bin/probe", "exit", "0"])
        .set("/linux/cgroupsPath", json!(format!("/{cg}")));
    let ctr = c.create(&b)?;
    let pid = c.pid(&ctr);
    let dirs: Vec<_> = ["memory", "pids", "devices", "cpu", "freezer"]
        .iter()
        .filter_map(|h| v1_hierarchy(h).map(|p| p.join(&cg)))
        .filter(|p| p.exists())
        .collect();
    ensure!(
        !dirs.is_empty(),
        "create made no cgroup at cgroupsPath /{cg}"
    );
    c.rt(&["start", &ctr.id]).must("start")?;
    ensure!(c.wait_status(&ctr, "stopped", 10), "did not stop");
    c.rt(&["delete", &ctr.id]).must("delete")?;
    ensure!(
        !c.rt(&["state", &ctr.id]).ok(),
        "state still finds the container"
    );
    let left: Vec<_> = dirs.iter().filter(|p| p.exists()).collect();
    ensure!(left.is_empty(), "cgroups left after delete: {left:?}");
    ensure!(!alive(pid), "the container process is still alive");
    ensure!(
        !c.rt.root.join(&ctr.id).exists(),
        "state directory left after delete"
    );
    Ok(())
}

fn delete_keeps_foreign(c: &Ctx) -> Res {
    let src = c.hostdir("foreign");
    std::fs::write(src.join("keep"), "x").map_err(|e| Why::Fail(e.to_string()))?;
    let holder = c.spawn_holder(&["unshare", "--net", "sleep", "600"])?;
    ensure!(
        eventually(2000, || ns_of(&holder.to_string(), "net")
            != ns_of("self", "net")),
        "holder has no network namespace"
    );
    let nsb = ns_of(&holder.to_string(), "net");
    let b = c
        .bundle()
        .args(&["/bin/probe", "exit", "0"])
        .bind(&src, "/data")
        .ns_add(json!({"type": "network", "path": format!("/proc/{holder}/ns/net")}));
    let (ctr, _) = c.create_start_wait(&b)?;
    c.rt(&["delete", &ctr.id]).must("delete")?;
    ensure!(
        src.join("keep").exists(),
        "the bind-mount source's content was deleted"
    );
    ensure!(
        alive(holder as i32) && ns_of(&holder.to_string(), "net") == nsb,
        "the joined network namespace's holder is gone"
    );
    Ok(())
}

fn dev_symlinks(c: &Ctx) -> Res {
    let out = c.shell(
        c.bundle(),
        "for f in fd stdin stdout stderr; do echo $f=$(readlink /dev/$f); done",
    )?;
    for want in [
        "fd=/proc/self/fd",
        "stdin=/proc/self/fd/0",
        "stdout=/proc/self/fd/1",
        "stderr=/proc/self/fd/2",
    ] {
        ensure!(
            out.lines().any(|l| l.trim() == want),
            "missing {want}: {out:?}"
        );
    }
    Ok(())
}

fn default_fds(c: &Ctx) -> Res {
    let v = c.report(c.bundle())?;
    let extra: Vec<&Value> = v["fds"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| {
                    f[0].as_i64().unwrap_or(0) > 2 && !f[1].as_str().unwrap_or("").ends_with("/fd")
                })
                .collect()
        })
        .unwrap_or_default();
    ensure!(
        extra.is_empty(),
        "extra descriptors open in the container process: {extra:?}"
    );
    Ok(())
}
