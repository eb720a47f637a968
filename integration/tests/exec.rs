//! exec: a new process joins every namespace and the cgroup of a running
//! container and gets its confinement.

use integration::console::{read_for, ConsoleSocket};
use integration::*;
use serde_json::{json, Value};

fn running(tag: &str, b: Bundle) -> Container {
    let c = Container::create(
        b.args(&["/bin/probe", "sleep", "120"])
            .set("/hostname", json!(tag)),
    );
    c.start().expect_ok();
    c
}

fn exec(c: &Container, args: &[&str]) -> Run {
    let mut a = vec!["exec"];
    a.extend_from_slice(args);
    let mut full: Vec<String> = a.iter().map(|s| s.to_string()).collect();
    // The id goes before the command, after the flags.
    let pos = full.iter().position(|s| s == "--").unwrap_or(full.len());
    full.insert(pos, c.id.clone());
    full.retain(|s| s != "--");
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    runtime(&refs)
}

fn report_of(c: &Container, flags: &[&str]) -> Value {
    let mut a: Vec<&str> = flags.to_vec();
    a.extend_from_slice(&["--", "/bin/probe", "report"]);
    exec(c, &a).expect_ok().json()
}

#[test]
fn exec_joins_the_container() {
    let c = running("execbox", Bundle::new("ex"));
    let init = c.pid();
    let r = report_of(&c, &[]);
    assert_eq!(r["hostname"], "execbox", "uts namespace");
    assert_ne!(r["pid"], 1, "not the init");
    assert_eq!(
        r["ppid"], 0,
        "its parent (rrun) is outside the pid namespace"
    );
    let host_cgroup = std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap_or_default();
    // Inside, the cgroup namespace may hide the path; compare from the host instead.
    let exec_pid_host = {
        let out = runtime(&["ps", "--format", "json", &c.id])
            .expect_ok()
            .json();
        out.as_array().map_or(0, Vec::len)
    };
    assert!(exec_pid_host >= 1);
    assert!(!host_cgroup.is_empty());
    assert_eq!(r["cap_eff"], report_of(&c, &[])["cap_eff"]);
    let mounts = r["mountinfo"].as_str().unwrap_or_default();
    assert!(
        mounts.lines().next().is_some_and(|l| l.contains(" / ")),
        "the container's root"
    );
    assert_eq!(r["seccomp"], "0");
}

/// rrun's exec takes the process defaults of the config the container was
/// created with (kept in its state, as crun and youki keep a copy):
/// editing the bundle's config.json afterwards changes nothing, and nothing
/// but state.json is kept in the state dir. runc re-reads the bundle's
/// config.json at exec (docs/differences.md).
#[test]
fn exec_takes_the_config_the_container_was_created_with() {
    let c = running(
        "cfg",
        Bundle::new("excfg").set("/process/env", json!(["PATH=/bin", "WHEN=created"])),
    );
    let path = c.bundle.path().join("config.json");
    let mut edited: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read config.json")).expect("json");
    edited["process"]["env"] = json!(["PATH=/bin", "WHEN=edited"]);
    std::fs::write(&path, serde_json::to_vec(&edited).expect("encode")).expect("write");
    let seen = report_of(&c, &[])["env"].to_string();
    let (kept, not) = if is_rrun() {
        ("WHEN=created", "WHEN=edited")
    } else {
        ("WHEN=edited", "WHEN=created")
    };
    assert!(seen.contains(kept) && !seen.contains(not), "{seen}");
    if is_rrun() {
        let kept: Vec<String> = std::fs::read_dir(env().state_root.join(&c.id))
            .expect("state dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(kept, ["state.json"], "{kept:?}");
    }
}

#[test]
fn exec_returns_the_exit_status() {
    let c = running("rc", Bundle::new("exrc"));
    assert_eq!(exec(&c, &["--", "/bin/probe", "exit", "7"]).code, 7);
    assert_eq!(
        exec(&c, &["--", "/bin/probe", "signal-self", "9"]).code,
        137
    );
}

#[test]
fn exec_user_env_cwd_caps_and_nnp() {
    let c = running(
        "opts",
        Bundle::new("exopt").set("/process/noNewPrivileges", json!(false)),
    );
    let r = report_of(
        &c,
        &[
            "--user",
            "1000:1001",
            "--additional-gids",
            "7",
            "--env",
            "FOO=bar",
            "--cwd",
            "/tmp",
        ],
    );
    assert_eq!(r["uid"], 1000);
    assert_eq!(r["gid"], 1001);
    assert_eq!(r["groups"], "7");
    assert_eq!(r["cwd"], "/tmp");
    assert!(r["env"]
        .as_array()
        .is_some_and(|e| e.iter().any(|v| v == "FOO=bar")));
    let r = report_of(&c, &["--cap", "CAP_NET_ADMIN", "--no-new-privs"]);
    assert!(
        capmask(&r["cap_eff"]) & (1 << 12) != 0,
        "CAP_NET_ADMIN added"
    );
    assert_eq!(r["no_new_privs"], "1");
}

#[test]
fn exec_with_a_process_file() {
    let c = running("pfile", Bundle::new("expf"));
    let path = env().scratch.join(format!("{}.json", unique_id("proc")));
    let process = json!({"terminal": false, "user": {"uid": 5, "gid": 6}, "args": ["/bin/probe", "report"],
                         "env": ["PATH=/bin", "X=1"], "cwd": "/dev"});
    std::fs::write(&path, process.to_string()).expect("write");
    let r = exec(&c, &["--process", path.to_str().unwrap_or(""), "--"])
        .expect_ok()
        .json();
    assert_eq!(
        (r["uid"].clone(), r["gid"].clone(), r["cwd"].clone()),
        (json!(5), json!(6), json!("/dev"))
    );
    let _ = std::fs::remove_file(path);
}

/// An unknown capability in process.json is a warning, as in config.json.
#[test]
fn exec_process_file_with_an_unknown_capability() {
    let c = running("pcap", Bundle::new("expcap"));
    let path = env().scratch.join(format!("{}.json", unique_id("proc")));
    let process = json!({"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["/bin/true"],
                         "cwd": "/", "capabilities": {"bounding": ["CAP_KILL", "CAP_NOPE"],
                         "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}});
    std::fs::write(&path, process.to_string()).expect("write");
    let r = exec(&c, &["--process", path.to_str().unwrap_or(""), "--"]);
    let _ = std::fs::remove_file(path);
    assert!(r.ok(), "{}", r.stderr);
    if is_rrun() {
        assert!(r.stderr.contains("CAP_NOPE"), "warned: {}", r.stderr);
    }
}

#[test]
fn exec_detached_writes_the_pid_file() {
    let c = running("det", Bundle::new("exdet"));
    let pidfile = env().scratch.join(format!("{}.pid", unique_id("expid")));
    exec(
        &c,
        &[
            "-d",
            "--pid-file",
            pidfile.to_str().unwrap_or(""),
            "--",
            "/bin/probe",
            "sleep",
            "30",
        ],
    )
    .expect_ok();
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(pid > 0);
    let ps = runtime(&["ps", "--format", "json", &c.id])
        .expect_ok()
        .json();
    assert!(
        ps.as_array().is_some_and(|a| a.iter().any(|p| p == pid)),
        "{ps} has {pid}"
    );
    let _ = std::fs::remove_file(pidfile);
}

#[test]
fn exec_into_stopped_or_paused() {
    let c = running("stop", Bundle::new("exstop"));
    runtime(&["pause", &c.id]).expect_ok();
    let r = exec(&c, &["--", "/bin/true"]);
    assert!(!r.ok() && r.stderr.contains("paused"), "{r:?}");
    // With --ignore-paused the process joins the frozen cgroup and runs
    // once the container is resumed.
    let id = c.id.clone();
    let resumer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        runtime(&["resume", &id]).expect_ok();
    });
    assert_eq!(
        exec(&c, &["--ignore-paused", "--", "/bin/probe", "exit", "3"]).code,
        3
    );
    resumer.join().expect("resume");
    c.kill("KILL").expect_ok();
    assert!(c.wait_status("stopped"));
    let r = exec(&c, &["--", "/bin/true"]);
    assert!(!r.ok());
    if is_rrun() {
        assert!(r.stderr.contains("container not running"), "{}", r.stderr);
    }
}

#[test]
fn exec_sees_no_host_descriptors() {
    let c = running("fds", Bundle::new("exfd"));
    let r = report_of(&c, &[]);
    let fds: Vec<i64> = r["fds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f[0].as_i64())
        .collect();
    assert!(fds.iter().all(|fd| *fd <= 3), "leaked: {}", r["fds"]);
}

#[test]
fn exec_gets_the_container_seccomp_profile() {
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 21}]});
    let c = running("sc", Bundle::new("exsc").set("/linux/seccomp", profile));
    let out = exec(&c, &["--", "/bin/probe", "syscall", "140", "0", "0"]);
    assert_eq!(out.stdout.trim(), "errno 21");
}

#[test]
fn exec_with_a_terminal_through_a_console_socket() {
    let c = running("tty", Bundle::new("extty"));
    let mut sock = ConsoleSocket::new("extty");
    let path = sock.path.clone();
    exec(
        &c,
        &[
            "-t",
            "-d",
            "--console-socket",
            path.to_str().unwrap_or(""),
            "--",
            "/bin/sh",
            "-c",
            "/bin/probe report; sleep 1",
        ],
    )
    .expect_ok();
    let master = sock.master().expect("pty master");
    let out = read_for(&master, 3000);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_default();
    let r: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(r["isatty"], json!([true, true, true]));
}

#[test]
fn exec_in_a_user_namespace_container() {
    let b = Bundle::new("exuser").userns(json!([id_range(0, 200000, 65536)]));
    let c = running("uns", b);
    let r = report_of(&c, &[]);
    assert!(
        r["uid_map"].as_str().is_some_and(|m| m.contains("200000")),
        "{}",
        r["uid_map"]
    );
    assert_eq!(r["uid"], 0);
}
