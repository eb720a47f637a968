//! Lifecycle: create, start, state, kill, delete and run, status by status,
//! as the runtime spec and runc define them.

use integration::*;

fn sleeper() -> Bundle {
    Bundle::new("life").args(&["/bin/probe", "sleep", "60"])
}

#[test]
fn state_follows_created_running_stopped() {
    let c = Container::create(sleeper());
    let st = c.state();
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], c.id.as_str());
    assert!(
        st["pid"].as_i64().unwrap_or(0) > 0,
        "created has a pid: {st}"
    );
    assert_eq!(st["bundle"], c.bundle.path().to_str().unwrap_or(""));
    assert!(st["ociVersion"]
        .as_str()
        .is_some_and(|v| v.starts_with('1')));
    assert!(st["created"].as_str().is_some_and(|t| t.ends_with('Z')));
    c.start().expect_ok();
    assert_eq!(c.status(), "running");
    c.kill("KILL").expect_ok();
    assert!(c.wait_status("stopped"), "killed container reads stopped");
    assert_eq!(
        c.state()["pid"],
        0,
        "a stopped container shows pid 0 (runc)"
    );
    c.delete().expect_ok();
    let r = runtime(&["state", &c.id]);
    assert!(!r.ok());
    assert!(
        r.stderr.contains("container does not exist"),
        "{}",
        r.stderr
    );
}

#[test]
fn created_process_waits_for_start() {
    let b = Bundle::new("wait").args(&["/bin/sh", "-c", "echo started > /dev/shm/x; sleep 60"]);
    let c = Container::create(b);
    let pid = c.pid();
    // The init has not run the program: it is still rrun's image.
    let exe = exe_of(pid);
    assert!(!exe.ends_with("busybox"), "program ran before start: {exe}");
    c.start().expect_ok();
    assert_eq!(c.status(), "running");
    let exe = exe_of(pid);
    assert!(
        exe.ends_with("busybox"),
        "after start the program runs: {exe}"
    );
}

fn exe_of(pid: i32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// How the binary `pid` runs is kept from being written.
#[derive(Debug, PartialEq)]
enum ExeGuard {
    /// A memfd sealed against writes.
    Sealed,
    /// A file on a read-only mount.
    ReadOnlyMount,
    /// Neither: writable.
    None,
}

fn exe_guard(pid: i32) -> ExeGuard {
    use std::os::fd::AsRawFd;
    let Ok(exe) = std::fs::File::open(format!("/proc/{pid}/exe")) else {
        return ExeGuard::None;
    };
    // SAFETY: fcntl and fstatvfs on a descriptor we hold, into a local.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    if seals > 0 && seals & libc::F_SEAL_WRITE != 0 {
        return ExeGuard::Sealed;
    }
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    let statvfs = unsafe { libc::fstatvfs(exe.as_raw_fd(), &mut vfs) };
    if statvfs == 0 && vfs.f_flag & libc::ST_RDONLY != 0 {
        return ExeGuard::ReadOnlyMount;
    }
    ExeGuard::None
}

/// rrun's waiting init is the start trampoline (CVE-2019-5736 without a
/// second execution of rrun): a sealed memfd that cannot be written, named
/// rrun-init, holding only stdio and its two sockets.
#[test]
fn the_waiting_init_is_the_sealed_start_trampoline() {
    if !is_rrun() {
        return;
    }
    let c = Container::create(sleeper());
    let pid = c.pid();
    assert!(
        exe_of(pid).starts_with("/memfd:rrun-init"),
        "{}",
        exe_of(pid)
    );
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(comm.trim(), "rrun-init");
    assert_eq!(
        exe_guard(pid),
        ExeGuard::Sealed,
        "the trampoline's memfd is sealed against writes"
    );
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .flatten()
        .filter(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) >= Some(3))
        .map(|e| {
            std::fs::read_link(e.path())
                .map(|l| l.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(fds.len(), 2, "the sync socket and exec.sock: {fds:?}");
    assert!(fds.iter().all(|l| l.starts_with("socket:")), "{fds:?}");
    c.start().expect_ok();
    assert!(exe_of(pid).ends_with("probe"), "{}", exe_of(pid));
}

/// The waiting trampoline is not dumpable (its execve made it so again): a
/// container process cannot ptrace the holder of the sync socket and
/// exec.sock. The files of /proc/<pid> of a non-dumpable task belong to
/// root, not to the container user.
#[test]
fn the_waiting_trampoline_is_not_dumpable() {
    if !is_rrun() {
        return;
    }
    let c = Container::create(
        sleeper()
            .set("/process/user/uid", serde_json::json!(1000))
            .set("/process/user/gid", serde_json::json!(1000)),
    );
    let pid = c.pid();
    assert!(
        exe_of(pid).starts_with("/memfd:rrun-init"),
        "{}",
        exe_of(pid)
    );
    let owner = || {
        std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata(format!("/proc/{pid}/status")).expect("/proc/pid/status"),
        )
    };
    assert_eq!(
        owner(),
        0,
        "non-dumpable: /proc/{pid}/status belongs to root"
    );
    c.start().expect_ok();
    assert_eq!(owner(), 1000, "the program is dumpable as usual");
}

/// Where the trampoline does not fit, the init waits as rrun, re-executed
/// from a read-only binary; the container works the same.
#[test]
fn without_the_trampoline_the_init_waits_as_read_only_rrun() {
    if !is_rrun() {
        return;
    }
    let host_pid = sleeper().edit(|s| {
        let ns = s["linux"]["namespaces"].as_array_mut().expect("namespaces");
        ns.retain(|n| n["type"] != "pid");
    });
    let hook = sleeper().set(
        "/hooks",
        serde_json::json!({"createContainer": [{"path": "/bin/true"}]}),
    );
    let bundles = [
        ("the host's pid namespace", host_pid),
        ("a filter refusing execveat", sleeper().denying("execveat")),
        ("a createContainer hook", hook),
    ];
    for (why, b) in bundles {
        let c = Container::create(b);
        let pid = c.pid();
        let exe = exe_of(pid);
        assert!(!exe.starts_with("/memfd:"), "{why}: {exe}");
        assert_eq!(
            exe_guard(pid),
            ExeGuard::ReadOnlyMount,
            "{why}: the init runs from a read-only mount of rrun"
        );
        c.start().expect_ok();
        assert!(exe_of(pid).ends_with("probe"), "{why}: {}", exe_of(pid));
    }
}

/// A bundle whose program is found but cannot be executed, optionally
/// with a seccomp filter refusing one syscall.
fn garbage_program(denied: Option<&str>) -> Bundle {
    let mut b = Bundle::new("noexec").args(&["/garbage", "x"]);
    let root = b.private_rootfs();
    std::fs::write(root.join("garbage"), "not a program").expect("write");
    std::fs::set_permissions(
        root.join("garbage"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    match denied {
        Some(name) => b.denying(name),
        None => b,
    }
}

const GARBAGE_ERROR: &str = "rrun: exec \"/garbage\": exec format error";

/// A program that is found but cannot be executed: the container process
/// says why on its stderr and exits 127. `run` starts it right after the
/// setup (the immediate start), with or without a filter.
#[test]
fn a_program_that_cannot_be_executed_exits_127_with_the_reason() {
    if !is_rrun() {
        return; // runc 1.1.5 reports it as its own failure, exit status 1
    }
    for seccomp in [None, Some("execveat")] {
        let r = run(&garbage_program(seccomp));
        assert_eq!(r.code, 127, "{seccomp:?}: {r:?}");
        assert!(
            r.stderr.contains(GARBAGE_ERROR),
            "{seccomp:?}: {}",
            r.stderr
        );
    }
}

/// The same after create and start, from the start trampoline (no filter)
/// and from the init waiting as read-only rrun (a filter refusing
/// execveat: the trampoline does not fit). The message goes to the
/// container's stderr, which is `create`'s.
#[test]
fn a_created_program_that_cannot_be_executed_says_why() {
    if !is_rrun() {
        return;
    }
    for seccomp in [None, Some("execveat")] {
        let c = Captured::create(garbage_program(seccomp));
        let waiting = exe_of(c.container.pid());
        assert_eq!(
            waiting.starts_with("/memfd:rrun-init"),
            seccomp.is_none(),
            "{seccomp:?}: {waiting}"
        );
        let (_, text) = c.start_to_end();
        assert!(text.contains(GARBAGE_ERROR), "{seccomp:?}: {text}");
    }
}

#[test]
fn start_twice_fails_and_changes_nothing() {
    let c = Container::create(sleeper());
    c.start().expect_ok();
    let again = c.start();
    assert!(!again.ok(), "second start must fail");
    assert_eq!(c.status(), "running");
}

#[test]
fn start_after_the_init_died_is_an_error_not_a_hang() {
    let c = Container::create(sleeper());
    c.kill("KILL").expect_ok();
    assert!(c.wait_status("stopped"));
    let t = std::time::Instant::now();
    let r = c.start();
    assert!(!r.ok(), "start of a dead container must fail");
    assert!(t.elapsed().as_secs() < 5);
}

#[test]
fn kill_stopped_container_fails_with_not_running() {
    let c = Container::create(sleeper());
    c.start().expect_ok();
    c.kill("9").expect_ok();
    assert!(c.wait_status("stopped"));
    let r = c.kill("TERM");
    assert!(!r.ok());
    assert!(r.stderr.contains("not running"), "{}", r.stderr);
}

#[test]
fn kill_accepts_names_and_numbers() {
    for sig in ["SIGUSR1", "USR1", "10"] {
        let c = Container::create(Bundle::new("sig").args(&[
            "/bin/sh",
            "-c",
            "trap 'exit 7' USR1; while :; do sleep 0.1; done",
        ]));
        c.start().expect_ok();
        std::thread::sleep(std::time::Duration::from_millis(200));
        c.kill(sig).expect_ok();
        assert!(c.wait_status("stopped"), "signal {sig} reached the trap");
    }
    let c = Container::create(sleeper());
    assert!(!c.kill("NOTASIGNAL").ok());
}

#[test]
fn kill_all_reaches_every_process() {
    let b = Bundle::new("all").args(&["/bin/sh", "-c", "sleep 60 & sleep 60 & wait"]);
    let c = Container::create(b);
    c.start().expect_ok();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let ps = runtime(&["ps", "--format", "json", &c.id])
        .expect_ok()
        .json();
    assert!(
        ps.as_array().map_or(0, Vec::len) >= 3,
        "three processes: {ps}"
    );
    runtime(&["kill", "--all", &c.id, "KILL"]).expect_ok();
    assert!(c.wait_status("stopped"));
}

#[test]
fn delete_refuses_running_and_force_kills() {
    let c = Container::create(sleeper());
    c.start().expect_ok();
    let r = c.delete();
    assert!(!r.ok());
    assert!(r.stderr.contains("not stopped"), "{}", r.stderr);
    assert_eq!(c.status(), "running", "a refused delete changes nothing");
    runtime(&["delete", "--force", &c.id]).expect_ok();
    assert!(!runtime(&["state", &c.id]).ok());
    assert!(host_cgroups_named(&c.id).is_empty(), "cgroup removed");
}

#[test]
fn delete_of_created_kills_the_waiting_init() {
    let c = Container::create(sleeper());
    let pid = c.pid();
    c.delete().expect_ok();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let alive =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z"));
    assert!(!alive, "init {pid} is gone");
    assert!(host_cgroups_named(&c.id).is_empty());
}

#[test]
fn delete_force_of_missing_container_succeeds_quietly() {
    let r = runtime(&["delete", "--force", "never-existed-x"]);
    assert!(r.ok(), "{r:?}");
    assert!(r.stderr.is_empty(), "quiet: {:?}", r.stderr);
    let r = runtime(&["delete", "never-existed-x"]);
    assert!(!r.ok());
    assert!(r.stderr.contains("does not exist"));
}

#[test]
fn create_with_a_taken_id_fails() {
    let c = Container::create(sleeper());
    c.bundle.write();
    let r = runtime(&[
        "create",
        "--bundle",
        c.bundle.path().to_str().unwrap_or("."),
        &c.id,
    ]);
    assert!(!r.ok());
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert_eq!(c.status(), "created", "the first container is untouched");
}

#[test]
fn invalid_ids_are_refused() {
    let b = sleeper();
    b.write();
    for id in ["a/b", "..", "a b"] {
        let r = runtime(&["create", "--bundle", b.path().to_str().unwrap_or("."), id]);
        assert!(!r.ok(), "id {id:?} must be refused");
    }
}

#[test]
fn run_returns_the_exit_status() {
    assert_eq!(
        run(&Bundle::new("rc").args(&["/bin/probe", "exit", "0"])).code,
        0
    );
    assert_eq!(
        run(&Bundle::new("rc").args(&["/bin/probe", "exit", "3"])).code,
        3
    );
    // A child killed by a signal: the shell reports 128+N as its own code.
    assert_eq!(
        run(&Bundle::new("rc").args(&["/bin/sh", "-c", "/bin/probe signal-self 9; exit $?"])).code,
        137
    );
}

/// The init killed by a signal: `run` exits with 128+N.
#[test]
fn run_reports_death_by_signal_as_128_plus_n() {
    let b = sleeper();
    b.write();
    let id = unique_id("sig");
    let mut child = rt(&["run", "--bundle", b.path().to_str().unwrap_or("."), &id])
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn run");
    let mut running = false;
    for _ in 0..500 {
        let r = runtime(&["state", &id]);
        if r.ok() && r.json()["status"] == "running" {
            running = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(running, "container never ran");
    runtime(&["kill", &id, "KILL"]).expect_ok();
    let status = child.wait().expect("wait run");
    assert_eq!(status.code(), Some(137));
    assert!(!runtime(&["state", &id]).ok(), "run removed the container");
}

#[test]
fn run_detached_leaves_it_running_with_a_pid_file() {
    let b = sleeper();
    b.write();
    let id = unique_id("det");
    let pidfile = env().scratch.join(format!("{id}.pid"));
    runtime(&[
        "run",
        "-d",
        "--pid-file",
        pidfile.to_str().unwrap_or(""),
        "--bundle",
        b.path().to_str().unwrap_or("."),
        &id,
    ])
    .expect_ok();
    let st = runtime(&["state", &id]).expect_ok().json();
    assert_eq!(st["status"], "running");
    let pid: i64 = std::fs::read_to_string(&pidfile)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(-1);
    assert_eq!(
        st["pid"].as_i64(),
        Some(pid),
        "pid file holds the init's pid"
    );
    runtime(&["delete", "--force", &id]).expect_ok();
    let _ = std::fs::remove_file(pidfile);
}

#[test]
fn pid_file_is_written_by_create() {
    let b = sleeper();
    let pidfile = env().scratch.join(format!("{}.pid", unique_id("pf")));
    let c =
        Container::try_create(b, &["--pid-file", pidfile.to_str().unwrap_or("")]).expect("create");
    let pid: i64 = std::fs::read_to_string(&pidfile)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(-1);
    assert_eq!(c.state()["pid"].as_i64(), Some(pid));
    let _ = std::fs::remove_file(pidfile);
}

#[test]
fn list_shows_containers() {
    let c = Container::create(sleeper());
    let table = runtime(&["list"]).expect_ok().stdout;
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains(&c.id));
    let quiet = runtime(&["list", "-q"]).expect_ok().stdout;
    assert!(quiet.lines().any(|l| l == c.id));
    let json = runtime(&["list", "--format", "json"]).expect_ok().json();
    assert!(json.as_array().is_some_and(|a| a
        .iter()
        .any(|s| s["id"] == c.id.as_str() && s["status"] == "created")));
}

#[test]
fn pause_and_resume() {
    let c = Container::create(sleeper());
    c.start().expect_ok();
    runtime(&["pause", &c.id]).expect_ok();
    assert_eq!(c.status(), "paused");
    runtime(&["resume", &c.id]).expect_ok();
    assert_eq!(c.status(), "running");
    // delete --force of a paused container works (it is thawed to die).
    runtime(&["pause", &c.id]).expect_ok();
    runtime(&["delete", "--force", &c.id]).expect_ok();
}

/// A reused pid must not make a dead container look alive, nor receive its
/// signals: the state records the init's start time.
#[test]
fn pid_reuse_is_detected() {
    if !is_rrun() {
        return; // edits rrun's own state file
    }
    let c = Container::create(sleeper());
    c.start().expect_ok();
    let dir = env().state_root.join(&c.id);
    let path = dir.join("state.json");
    let mut st: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("state")).expect("json");
    // Point the state at another live process (our own test process).
    let real = st["pid"].clone();
    st["pid"] = serde_json::json!(std::process::id());
    std::fs::write(&path, serde_json::to_vec(&st).expect("json")).expect("write");
    assert_eq!(
        c.status(),
        "stopped",
        "a pid with another start time is not the container"
    );
    assert!(!c.kill("KILL").ok(), "and it is not signalled");
    st["pid"] = real;
    std::fs::write(&path, serde_json::to_vec(&st).expect("json")).expect("write");
    assert_eq!(c.status(), "running");
}
