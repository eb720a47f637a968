//! Hooks: each phase at its moment, in its namespace, in order, with the
//! state on stdin; a failing hook fails the operation it belongs to.

use integration::*;
use serde_json::{json, Value};

/// A hook that appends "<name> <mnt ns> <stdin>" to `log`.
fn hook(name: &str, log: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", format!("echo \"{name} $(readlink /proc/self/ns/mnt) $(cat)\" >> {log}")]})
}

fn host_mnt_ns() -> String {
    std::fs::read_link("/proc/self/ns/mnt")
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[test]
fn phases_run_in_order_in_their_namespaces_with_state_on_stdin() {
    if !is_rrun() {
        // Debian's runc 1.1.5 runs poststart during create; current runc
        // (and the spec) run it after start (docs/differences.md).
        return;
    }
    let dir = env().scratch.join(unique_id("hooks"));
    std::fs::create_dir_all(&dir).expect("dir");
    let host_log = dir.join("log");
    let host = host_log.display().to_string();
    let b = Bundle::new("hooks")
        .args(&["/bin/probe", "sleep", "60"])
        .edit(|s| {
            s["mounts"].as_array_mut().expect("mounts").push(json!({"destination": "/hooklog", "type": "bind", "source": dir, "options": ["bind"]}));
        })
        .set(
            "/hooks",
            json!({
                "prestart": [hook("prestart", &host)],
                "createRuntime": [hook("createRuntime", &host)],
                "createContainer": [hook("createContainer", &host)],
                // Runs inside the container: the log is at /hooklog there.
                "startContainer": [hook("startContainer", "/hooklog/log")],
                "poststart": [hook("poststart", &host)],
                "poststop": [hook("poststop", &host)]
            }),
        );
    let c = Container::create(b);
    let read = || std::fs::read_to_string(&host_log).unwrap_or_default();
    let names = |t: &str| {
        t.lines()
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&read()),
        ["prestart", "createRuntime", "createContainer"],
        "after create"
    );
    c.start().expect_ok();
    for _ in 0..200 {
        if names(&read()).len() >= 5 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        names(&read()),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart"
        ],
        "after start"
    );
    let pid = c.pid();
    let ctr_ns = std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    runtime(&["delete", "--force", &c.id]).expect_ok();
    let text = read();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[5].starts_with("poststop"), "{text}");
    let ns_of = |l: &str| l.split(' ').nth(1).unwrap_or("").to_string();
    assert_eq!(
        ns_of(lines[0]),
        host_mnt_ns(),
        "prestart in the runtime namespace"
    );
    assert_eq!(
        ns_of(lines[1]),
        host_mnt_ns(),
        "createRuntime in the runtime namespace"
    );
    assert_eq!(
        ns_of(lines[2]),
        ctr_ns,
        "createContainer in the container namespace"
    );
    assert_eq!(
        ns_of(lines[3]),
        ctr_ns,
        "startContainer in the container namespace"
    );
    assert_eq!(
        ns_of(lines[4]),
        host_mnt_ns(),
        "poststart in the runtime namespace"
    );
    // The state on stdin names the container.
    for l in &lines {
        let json_start = l.find('{').unwrap_or(0);
        let st: Value =
            serde_json::from_str(&l[json_start..]).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert_eq!(st["id"], c.id.as_str(), "{l}");
        assert!(st["pid"].as_i64().is_some(), "{l}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn failing_prestart_fails_create() {
    let b = Bundle::new("pre").set("/hooks", json!({"prestart": [{"path": "/bin/false"}]}));
    let r = Container::try_create(b, &[]);
    assert!(r.is_err(), "create must fail");
}

#[test]
fn failing_poststop_is_only_a_warning() {
    let b = Bundle::new("post")
        .args(&["/bin/true"])
        .set("/hooks", json!({"poststop": [{"path": "/bin/false"}]}));
    assert!(run(&b).ok(), "run succeeds although a poststop hook failed");
}

#[test]
fn hook_timeout_fails_create() {
    let b = Bundle::new("slow").set(
        "/hooks",
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "10"], "timeout": 1}]}),
    );
    let t = std::time::Instant::now();
    let r = Container::try_create(b, &[]);
    assert!(r.is_err(), "create must fail on a hook timeout");
    assert!(t.elapsed().as_secs() < 8, "the timeout was honoured");
}

#[test]
fn hook_env_and_args() {
    let dir = env().scratch.join(unique_id("henv"));
    std::fs::create_dir_all(&dir).expect("dir");
    let log = dir.join("log");
    let b = Bundle::new("henv").args(&["/bin/true"]).set(
        "/hooks",
        json!({"prestart": [{"path": "/bin/sh", "args": ["myname", "-c", format!("echo \"$0 $FOO\" > {}", log.display())], "env": ["FOO=bar"]}]}),
    );
    assert!(run(&b).ok());
    assert_eq!(
        std::fs::read_to_string(&log).unwrap_or_default(),
        "myname bar\n"
    );
    let _ = std::fs::remove_dir_all(dir);
}
