//! Device rules on a pure cgroup v2 host, where an eBPF program attached to
//! the container's cgroup enforces linux.resources.devices. Each test returns
//! early elsewhere (hack/v2-tests.sh runs them in a pure v2 VM).
//!
//! The probe opens nodes made with linux.devices: /dev/mykmsg is the kernel
//! log (c 1:11), which is not in the default allow list and opens without
//! side effects (reading needs CAP_SYSLOG, given here); /dev/nodev (c 42:0)
//! has no driver, so a device filter that lets it through gives "No such
//! device or address" instead of "Operation not permitted".

use integration::*;
use serde_json::{json, Value};

const DENIED: &str = "Operation not permitted";
const NO_DRIVER: &str = "No such device or address";

fn pure_v2() -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        && !mounts
            .lines()
            .any(|l| l.split(' ').nth(2) == Some("cgroup"))
}

macro_rules! require_v2 {
    () => {
        if !pure_v2() {
            eprintln!("skipped: not a pure cgroup v2 host");
            return;
        }
    };
}

fn deny_all() -> Value {
    json!({"allow": false, "access": "rwm"})
}

fn allow_all() -> Value {
    json!({"allow": true, "access": "rwm"})
}

fn char_rule(allow: bool, major: i64, minor: i64, access: &str) -> Value {
    json!({"allow": allow, "type": "c", "major": major, "minor": minor, "access": access})
}

fn bundle(rules: Vec<Value>, script: &str) -> Bundle {
    Bundle::new("devv2")
        .args(&["/bin/sh", "-c", script])
        .caps(&[
            "CAP_AUDIT_WRITE",
            "CAP_KILL",
            "CAP_NET_BIND_SERVICE",
            "CAP_SYSLOG",
        ])
        .set(
            "/linux/devices",
            json!([
                {"path": "/dev/mykmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 438},
                {"path": "/dev/nodev", "type": "c", "major": 42, "minor": 0, "fileMode": 438}
            ]),
        )
        .set("/linux/resources/devices", Value::Array(rules))
}

/// Run one container that tries each (path, mode) open; the probe's answer
/// to each, in order ("ok" or the error text).
fn opens(rules: Vec<Value>, tries: &[(&str, &str)]) -> Vec<String> {
    let script: Vec<String> = tries
        .iter()
        .map(|(path, mode)| format!("/bin/probe open {path} {mode}"))
        .collect();
    let r = run(&bundle(rules, &script.join("; ")));
    let lines: Vec<String> = r.stdout.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), tries.len(), "one answer per open: {r:?}");
    lines
}

#[track_caller]
fn expect(got: &[String], want: &[&str]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(g.starts_with(w), "got {got:?}, want {want:?}");
    }
}

const KMSG_R_W_RW: [(&str, &str); 3] = [
    ("/dev/mykmsg", "r"),
    ("/dev/mykmsg", "w"),
    ("/dev/mykmsg", "rw"),
];

#[test]
fn devices_read_only_rule_opens_for_reading_only() {
    require_v2!();
    let got = opens(vec![deny_all(), char_rule(true, 1, 11, "r")], &KMSG_R_W_RW);
    expect(&got, &["ok", DENIED, DENIED]);
}

#[test]
fn devices_mknod_only_rule_makes_the_node_but_cannot_open_it() {
    require_v2!();
    let got = opens(vec![deny_all(), char_rule(true, 1, 11, "m")], &KMSG_R_W_RW);
    expect(&got, &[DENIED, DENIED, DENIED]);
}

#[test]
fn devices_rwm_rule_opens_both_ways() {
    require_v2!();
    let got = opens(
        vec![deny_all(), char_rule(true, 1, 11, "rwm")],
        &KMSG_R_W_RW,
    );
    expect(&got, &["ok", "ok", "ok"]);
}

#[test]
fn devices_a_device_without_a_rule_is_denied() {
    require_v2!();
    let got = opens(
        vec![deny_all()],
        &[
            ("/dev/mykmsg", "r"),
            ("/dev/nodev", "r"),
            ("/dev/null", "rw"),
        ],
    );
    expect(&got, &[DENIED, DENIED, "ok"]);
}

#[test]
fn devices_privileged_config_opens_any_device() {
    require_v2!();
    let got = opens(
        vec![allow_all()],
        &[
            ("/dev/mykmsg", "rw"),
            ("/dev/nodev", "r"),
            ("/dev/null", "rw"),
        ],
    );
    expect(&got, &["ok", NO_DRIVER, "ok"]);
}

#[test]
fn devices_deny_of_a_device_outside_the_default_list() {
    require_v2!();
    // Not "m": the node would not be made (rrun would then try to bind the
    // host's /dev/mykmsg, which does not exist).
    let got = opens(
        vec![allow_all(), char_rule(false, 1, 11, "rw")],
        &[
            ("/dev/mykmsg", "r"),
            ("/dev/nodev", "r"),
            ("/dev/zero", "rw"),
        ],
    );
    expect(&got, &[DENIED, NO_DRIVER, "ok"]);
}

#[test]
fn devices_config_deny_of_a_default_device_is_overridden() {
    require_v2!();
    // The default rules come after the config's, as in runc.
    let got = opens(
        vec![
            deny_all(),
            char_rule(false, 1, 3, "rwm"),
            char_rule(false, 1, 5, "rwm"),
        ],
        &[("/dev/null", "rw"), ("/dev/zero", "r")],
    );
    expect(&got, &["ok", "ok"]);
}

#[test]
fn devices_deny_after_an_allow_takes_access_away() {
    require_v2!();
    let rules = vec![
        deny_all(),
        char_rule(true, 1, 11, "rwm"),
        char_rule(false, 1, 11, "w"),
    ];
    expect(&opens(rules, &KMSG_R_W_RW), &["ok", DENIED, DENIED]);
}

#[test]
fn devices_wildcard_minor_in_docker_encoding() {
    require_v2!();
    let rules = vec![deny_all(), char_rule(true, 1, -1, "r")];
    expect(&opens(rules, &KMSG_R_W_RW), &["ok", DENIED, DENIED]);
}

#[test]
fn devices_partial_deny_refuses_a_request_naming_it() {
    require_v2!();
    // v1 semantics: read-write is refused when write is denied (runc's v2
    // filter lets it through, so only rrun is checked for it).
    let got = opens(
        vec![allow_all(), char_rule(false, 1, 11, "w")],
        &KMSG_R_W_RW,
    );
    let rw = if is_rrun() { DENIED } else { "" };
    expect(&got, &["ok", DENIED, rw]);
}

#[test]
fn devices_hole_in_a_wildcard_rule_is_refused() {
    require_v2!();
    let rules = vec![
        deny_all(),
        char_rule(true, 1, -1, "rwm"),
        char_rule(false, 1, 11, "rwm"),
    ];
    let r = run(&bundle(rules, "/bin/probe open /dev/mykmsg r"));
    assert!(!r.ok(), "the container must not start: {r:?}");
    if is_rrun() {
        // The message is quoted in a log line: look for its words.
        let msg = &r.stderr;
        assert!(msg.contains("linux.resources.devices: rule"), "{msg}");
        assert!(
            msg.contains("c 1:11 rwm") && msg.contains("punch a hole"),
            "{msg}"
        );
    }
}

#[test]
fn devices_update_replaces_the_filter() {
    require_v2!();
    let c = Container::create(bundle(
        vec![deny_all(), char_rule(true, 1, 11, "r")],
        "exec /bin/probe sleep",
    ));
    c.start().expect_ok();
    let opens = |tries: &[(&str, &str)]| -> Vec<String> {
        tries
            .iter()
            .map(|(path, mode)| {
                let r = runtime(&["exec", &c.id, "/bin/probe", "open", path, mode]);
                r.stdout.trim().to_string()
            })
            .collect()
    };
    let update = |rules: Value| {
        let file = c.bundle.dir.join("resources.json");
        std::fs::write(&file, json!({ "devices": rules }).to_string()).expect("write");
        let file = file.to_str().unwrap_or_default().to_string();
        runtime(&["update", "--resources", &file, &c.id]).expect_ok();
    };
    let tries = [
        ("/dev/mykmsg", "r"),
        ("/dev/mykmsg", "w"),
        ("/dev/null", "rw"),
    ];
    expect(&opens(&tries), &["ok", DENIED, "ok"]);
    // Wider: writing works only if the first program was detached (every
    // program attached to the cgroup must allow an access).
    update(json!([deny_all(), char_rule(true, 1, 11, "rw")]));
    expect(&opens(&tries), &["ok", "ok", "ok"]);
    // Narrower again; the default rules still come along.
    update(json!([deny_all()]));
    expect(&opens(&tries), &[DENIED, DENIED, "ok"]);
}
