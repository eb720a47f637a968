//! Seccomp as the container experiences it: a Docker-shaped profile, every
//! operator, several conditions on one and on different arguments, actions,
//! ENOSYS for syscalls newer than the profile, notify to a listener agent.

use integration::*;
use serde_json::{json, Value};

/// A profile shaped like Docker's default (hack/docker-like-seccomp.py).
fn docker_like(max_nr: Option<u32>) -> Value {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hack/docker-like-seccomp.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(script);
    if let Some(n) = max_nr {
        cmd.arg(n.to_string());
    }
    let out = cmd.output().expect("python3");
    serde_json::from_slice(&out.stdout).expect("profile json")
}

fn with_profile(tag: &str, profile: Value) -> Bundle {
    Bundle::new(tag).set("/linux/seccomp", profile)
}

fn allow_all_but(rules: Value) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})
}

fn probe_syscall(b: Bundle, nr: i64, args: &[i64]) -> String {
    let mut argv = vec!["/bin/probe".to_string(), "syscall".into(), nr.to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    run(&b.args(&refs)).stdout.trim().to_string()
}

const GETPRIORITY: i64 = 140;
const PRIO_PROCESS: i64 = 0;

#[test]
fn docker_like_profile_confines_but_lets_a_shell_work() {
    let b = with_profile("dock", docker_like(None))
        .args(&["/bin/sh", "-c", "ls / > /dev/null && echo shell-ok; unshare -n true 2>/dev/null || echo unshare-denied; grep Seccomp: /proc/self/status"]);
    let r = run(&b).expect_ok();
    assert!(r.stdout.contains("shell-ok"), "{}", r.stdout);
    assert!(r.stdout.contains("unshare-denied"), "{}", r.stdout);
    assert!(r.stdout.contains("Seccomp:\t2"), "{}", r.stdout);
}

#[test]
fn docker_like_profile_without_no_new_privs() {
    // Then the filter is loaded before the capability drop.
    let b = with_profile("dock2", docker_like(None)).set("/process/noNewPrivileges", json!(false));
    let r = report(b);
    assert_eq!(r["seccomp"], "2");
    assert_eq!(r["no_new_privs"], "0");
}

#[test]
fn every_operator() {
    // getpriority(PRIO_PROCESS, who): denied with a distinct errno per rule.
    let rules = json!([
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 11, "args": [{"index": 1, "value": 100, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 12, "args": [{"index": 1, "value": 200, "op": "SCMP_CMP_GT"}, {"index": 1, "value": 300, "op": "SCMP_CMP_LT"}]},
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [{"index": 1, "value": 1000, "op": "SCMP_CMP_GE"}, {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 14, "args": [{"index": 1, "value": 0xf0, "valueTwo": 0x50, "op": "SCMP_CMP_MASKED_EQ"}]}
    ]);
    let case = |who: i64| {
        probe_syscall(
            with_profile("op", allow_all_but(rules.clone())),
            GETPRIORITY,
            &[PRIO_PROCESS, who],
        )
    };
    assert_eq!(case(100), "errno 11", "EQ");
    // Two conditions on one argument are ORed (runc): 250 matches both, 150 the GT... no: GT 200 fails, LT 300 matches.
    assert_eq!(case(150), "errno 12", "LT alone matches (ORed with GT)");
    assert_eq!(case(1001), "errno 12", "GT alone matches (ORed with LT)");
    // Conditions on different arguments are ANDed: GE 1000 and arg0 == 0.
    let r = probe_syscall(
        with_profile("op", allow_all_but(json!([rules[2].clone()]))),
        GETPRIORITY,
        &[PRIO_PROCESS, 1000],
    );
    assert_eq!(r, "errno 13", "GE and EQ on different args");
    let r = probe_syscall(
        with_profile("op", allow_all_but(json!([rules[2].clone()]))),
        GETPRIORITY,
        &[1, 1000],
    );
    assert!(
        r.starts_with("ok") || r == "errno 3",
        "AND: arg0 != 0 is not matched: {r}"
    );
    assert_eq!(case(0x55), "errno 14", "MASKED_EQ: 0x55 & 0xf0 == 0x50");
    let ne = json!([{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 15, "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_NE"}]},
                    {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 16, "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_LE"}]}]);
    let b = || with_profile("ne", allow_all_but(ne.clone()));
    assert_eq!(probe_syscall(b(), GETPRIORITY, &[2, 99]), "errno 15", "NE");
    assert_eq!(
        probe_syscall(b(), GETPRIORITY, &[PRIO_PROCESS, 5]),
        "errno 16",
        "LE"
    );
}

#[test]
fn kill_and_trap_actions() {
    for action in ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_TRAP"] {
        let b = with_profile(
            "kill",
            allow_all_but(json!([{"names": ["getpriority"], "action": action}])),
        )
        .args(&["/bin/sh", "-c", "/bin/probe syscall 140 0 0; echo $?"]);
        let out = run(&b).stdout;
        assert_eq!(out.trim(), "159", "{action}: the child dies of SIGSYS");
    }
    let b = with_profile(
        "log",
        allow_all_but(json!([{"names": ["getpriority"], "action": "SCMP_ACT_LOG"}])),
    );
    assert!(
        probe_syscall(b, GETPRIORITY, &[0, 0]).starts_with("ok"),
        "LOG allows"
    );
}

#[test]
fn syscalls_newer_than_the_profile_get_enosys() {
    // The profile knows syscalls below 439; epoll_pwait2 (441) is newer, acct (163) is denied.
    let b = || with_profile("nosys", docker_like(Some(439)));
    assert_eq!(
        probe_syscall(b(), 441, &[]),
        format!("errno {}", libc::ENOSYS),
        "newer than the profile: ENOSYS"
    );
    assert_eq!(
        probe_syscall(b(), 163, &[]),
        format!("errno {}", libc::EPERM),
        "known and denied: EPERM"
    );
}

#[test]
fn unknown_syscall_names_are_skipped() {
    let b = with_profile(
        "unknown",
        allow_all_but(
            json!([{"names": ["no_such_syscall", "getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 21}]),
        ),
    );
    assert_eq!(probe_syscall(b, GETPRIORITY, &[0, 0]), "errno 21");
}

#[test]
fn compiled_profiles_are_cached() {
    if !is_rrun() {
        return;
    }
    let profile = docker_like(Some(437));
    run(&with_profile("cache", profile.clone()).args(&["/bin/true"])).expect_ok();
    let cache = env().state_root.join(".rrun-seccomp");
    let entries = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0);
    assert!(entries >= 1, "an entry in {}", cache.display());
    // A corrupted entry is not trusted: the next run recompiles and works.
    for e in std::fs::read_dir(&cache).expect("cache").flatten() {
        std::fs::write(e.path(), b"garbage").expect("corrupt");
    }
    let r = run(&with_profile("cache", profile).args(&[
        "/bin/sh",
        "-c",
        "unshare -n true 2>/dev/null || echo denied",
    ]));
    assert_eq!(r.expect_ok().stdout, "denied\n");
}

/// SCMP_ACT_NOTIFY: the listener gets the fd and the state, and answers.
#[test]
fn notify_reaches_the_listener_agent() {
    let sock = env().scratch.join(format!("{}.sock", unique_id("notify")));
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let agent = std::thread::spawn(move || notify_agent(listener));
    let b = with_profile(
        "notify",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "listenerMetadata": "hello",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}),
    )
    .args(&["/bin/probe", "mkdir", "/tmp/x"]);
    let r = run(&b);
    let state = agent.join().expect("agent");
    assert_eq!(
        r.stdout.trim(),
        "errno 42",
        "the agent's answer reached the container: {r:?}"
    );
    assert_eq!(state["metadata"], "hello");
    assert_eq!(state["fds"], json!(["seccompFd"]));
    assert!(state["state"]["id"].is_string());
    let _ = std::fs::remove_file(sock);
}

#[repr(C)]
#[derive(Default)]
struct SeccompData {
    nr: i32,
    arch: u32,
    ip: u64,
    args: [u64; 6],
}

#[repr(C)]
#[derive(Default)]
struct Notif {
    id: u64,
    pid: u32,
    flags: u32,
    data: SeccompData,
}

#[repr(C)]
#[derive(Default)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

/// Receive the listener fd and state, answer one notification with EPERM-ish 42.
fn notify_agent(listener: std::os::unix::net::UnixListener) -> Value {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::{AsRawFd, RawFd};
    let (stream, _) = listener.accept().expect("accept");
    let mut buf = vec![0u8; 16384];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    let mut fd = -1;
    for c in msg.cmsgs().expect("cmsgs") {
        if let ControlMessageOwned::ScmRights(fds) = c {
            fd = fds[0];
        }
    }
    let n = msg.bytes;
    let state: Value = serde_json::from_slice(&buf[..n]).unwrap_or(Value::Null);
    const RECV: libc::c_ulong = 0xc050_2100; // SECCOMP_IOCTL_NOTIF_RECV
    const SEND: libc::c_ulong = 0xc018_2101; // SECCOMP_IOCTL_NOTIF_SEND
    let mut notif = Notif::default();
    // SAFETY: fd is the listener; notif is the struct the ioctl fills.
    if unsafe { libc::ioctl(fd, RECV, &mut notif as *mut Notif) } == 0 {
        let mut resp = NotifResp {
            id: notif.id,
            val: 0,
            error: -42,
            flags: 0,
        };
        // SAFETY: resp is the struct the ioctl reads.
        unsafe { libc::ioctl(fd, SEND, &mut resp as *mut NotifResp) };
    }
    // SAFETY: we own fd.
    unsafe { libc::close(fd) };
    state
}
