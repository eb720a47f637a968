//! The container process as the probe inside sees it: pid, ids, capabilities,
//! rlimits, environment, cwd, umask, no_new_privs, hostname, oom_score_adj,
//! descriptors and the terminal.

use integration::console::{read_for, ConsoleSocket};
use integration::*;
use serde_json::json;

#[test]
fn runs_as_pid_1_in_its_own_session_with_the_hostname() {
    let r = report(
        Bundle::new("p")
            .set("/hostname", json!("box1"))
            .set("/domainname", json!("example.org")),
    );
    assert_eq!(r["pid"], 1);
    assert_eq!(r["sid"], 1, "the init leads its own session");
    assert_eq!(r["hostname"], "box1");
    if is_rrun() {
        // Debian's runc 1.1.5 predates domainname support.
        assert_eq!(r["domainname"], "example.org");
    }
}

#[test]
fn default_capabilities_are_exactly_the_configured_ones() {
    let r = report(Bundle::new("caps"));
    let want = (1u64 << 29) | (1 << 5) | (1 << 10); // AUDIT_WRITE, KILL, NET_BIND_SERVICE
    assert_eq!(capmask(&r["cap_bnd"]), want);
    assert_eq!(capmask(&r["cap_eff"]), want);
    assert_eq!(capmask(&r["cap_prm"]), want);
    assert_eq!(capmask(&r["cap_inh"]), 0);
    assert_eq!(capmask(&r["cap_amb"]), 0);
}

#[test]
fn each_capability_set_is_applied() {
    let b = Bundle::new("caps2").set(
        "/process/capabilities",
        json!({"bounding": ["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_KILL"],
               "effective": ["CAP_CHOWN"],
               "permitted": ["CAP_CHOWN", "CAP_NET_ADMIN"],
               "inheritable": ["CAP_NET_ADMIN"],
               "ambient": ["CAP_NET_ADMIN"]}),
    );
    let r = report(b);
    assert_eq!(capmask(&r["cap_bnd"]), (1 << 0) | (1 << 12) | (1 << 5));
    // The ambient set feeds permitted and effective across execve.
    assert_eq!(capmask(&r["cap_prm"]), (1 << 0) | (1 << 12));
    assert_eq!(capmask(&r["cap_inh"]), 1 << 12);
    assert_eq!(capmask(&r["cap_amb"]), 1 << 12);
}

#[test]
fn user_groups_umask_and_caps_of_a_non_root_process() {
    let b = Bundle::new("user")
        .set(
            "/process/user",
            json!({"uid": 1000, "gid": 1001, "additionalGids": [5, 6], "umask": 63}),
        )
        .set("/process/capabilities/effective", json!(["CAP_KILL"]))
        .set("/process/capabilities/permitted", json!(["CAP_KILL"]))
        .set("/process/capabilities/inheritable", json!(["CAP_KILL"]))
        .set("/process/capabilities/ambient", json!(["CAP_KILL"]));
    let r = report(b);
    assert_eq!(r["uid"], 1000);
    assert_eq!(r["gid"], 1001);
    assert_eq!(r["groups"], "5 6");
    assert_eq!(r["umask"], 63);
    // A non-root program keeps capabilities across execve only through the ambient set.
    assert_eq!(
        capmask(&r["cap_eff"]),
        1 << 5,
        "ambient capabilities survive the switch to uid 1000"
    );
    assert_eq!(capmask(&r["cap_amb"]), 1 << 5);
}

#[test]
fn environment_cwd_and_home() {
    let b = Bundle::new("env")
        .set("/process/env", json!(["PATH=/bin", "FOO=bar baz"]))
        .set("/process/cwd", json!("/tmp"));
    let r = report(b);
    let env: Vec<&str> = r["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(env.contains(&"FOO=bar baz"));
    assert!(
        env.contains(&"HOME=/root"),
        "HOME from /etc/passwd: {env:?}"
    );
    assert_eq!(r["cwd"], "/tmp");
    assert_eq!(r["umask"], 18, "default umask 0022");
}

#[test]
fn missing_cwd_is_created() {
    let r = report(Bundle::new("cwd").set("/process/cwd", json!("/tmp/made/here")));
    assert_eq!(r["cwd"], "/tmp/made/here");
}

#[test]
fn rlimits_are_set() {
    let b = Bundle::new("rl").set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]),
    );
    let r = report(b);
    assert_eq!(r["rlimits"]["RLIMIT_NOFILE"], json!([100, 200]));
    assert_eq!(r["rlimits"]["RLIMIT_CORE"], json!([0, 0]));
}

#[test]
fn rlimit_above_the_hard_limit_fails_clearly() {
    // This host cannot raise a hard limit (no CAP_SYS_RESOURCE).
    let b = Bundle::new("rlhi").set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 1048577, "hard": 1073741816}]),
    );
    let r = run(&b);
    if r.ok() {
        return; // a host that can raise it: nothing to check
    }
    if is_rrun() {
        assert!(
            r.stderr.contains("RLIMIT_NOFILE"),
            "names the limit: {}",
            r.stderr
        );
    }
}

#[test]
fn no_new_privileges_follows_the_config() {
    assert_eq!(report(Bundle::new("nnp"))["no_new_privs"], "1");
    assert_eq!(
        report(Bundle::new("nnp").set("/process/noNewPrivileges", json!(false)))["no_new_privs"],
        "0"
    );
}

#[test]
fn oom_score_adj_is_set() {
    assert_eq!(
        report(Bundle::new("oom").set("/process/oomScoreAdj", json!(500)))["oom_score_adj"],
        500
    );
}

#[test]
fn only_stdio_reaches_the_container() {
    let r = report(Bundle::new("fds"));
    let fds: Vec<i64> = r["fds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f[0].as_i64())
        .collect();
    // 0-2, plus the probe's own directory handle while it lists /proc/self/fd.
    assert!(
        fds.iter().all(|fd| *fd <= 3),
        "leaked descriptors: {}",
        r["fds"]
    );
    assert!(fds.len() <= 4);
}

/// The runtime blocks the signals it forwards before it starts anything: the
/// container's process (and one exec'd into it) must still start with none
/// blocked.
#[test]
fn processes_start_with_no_signal_blocked() {
    let r = sh(Bundle::new("sigblk"), "grep SigBlk /proc/self/status");
    assert_eq!(r.stdout.trim(), "SigBlk:\t0000000000000000", "{r:?}");
    let c = Container::create(Bundle::new("sigblkx").args(&["/bin/sleep", "60"]));
    c.start().expect_ok();
    let r = runtime(&["exec", &c.id, "/bin/grep", "SigBlk", "/proc/self/status"]);
    assert_eq!(r.stdout.trim(), "SigBlk:\t0000000000000000", "{r:?}");
}

/// A runtime started with stdin closed: no file it opens takes number 0
/// (rrun puts /dev/null there first, as std's start-up did), so the
/// container's stdin is /dev/null, not one of the runtime's files (runc
/// 1.1.5's is one of runc's pipes).
#[test]
fn a_closed_stdin_becomes_dev_null_not_a_runtime_file() {
    use std::os::unix::process::CommandExt;
    let b = Bundle::new("nostdin").args(&["/bin/readlink", "/proc/self/fd/0"]);
    b.write();
    let id = unique_id("nostdin");
    let mut cmd = rt(&["run", "--bundle", b.path().to_str().unwrap_or("."), &id]);
    // SAFETY: close is async-signal-safe; it runs in the forked child only.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(0);
            Ok(())
        });
    }
    let out = cmd.output().expect("run");
    let _ = runtime(&["delete", "--force", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdin = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if is_rrun() {
        assert_eq!(stdin, "/dev/null");
    } else {
        // runc 1.1.5 hands the container one of its own pipes
        // (docs/differences.md).
        assert!(stdin.starts_with("pipe:"), "{stdin}");
    }
}

#[test]
fn preserve_fds_passes_extra_descriptors() {
    use std::os::fd::AsRawFd;
    let b = Bundle::new("pfd").args(&[
        "/bin/sh",
        "-c",
        "echo hello >&3; ls -l /proc/self/fd/ | grep -c -- '->'",
    ]);
    b.write();
    let id = unique_id("pfd");
    let file = env().scratch.join(format!("{id}.txt"));
    let f = std::fs::File::create(&file).expect("file");
    let raw = f.as_raw_fd();
    let mut cmd = rt(&[
        "run",
        "--preserve-fds",
        "1",
        "--bundle",
        b.path().to_str().unwrap_or("."),
        &id,
    ]);
    // Put the file at fd 3 in the runtime.
    unsafe_dup_to_3(&mut cmd, raw);
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap_or_default(),
        "hello\n"
    );
    let _ = std::fs::remove_file(file);
}

fn unsafe_dup_to_3(cmd: &mut std::process::Command, fd: i32) {
    use std::os::unix::process::CommandExt;
    // SAFETY: dup2 is async-signal-safe; it runs in the forked child only.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec: clear it instead.
            let ok = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if ok < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn terminal_through_a_console_socket() {
    let mut sock = ConsoleSocket::new("tty");
    let b = Bundle::new("tty")
        .set("/process/terminal", json!(true))
        .args(&["/bin/sh", "-c", "/bin/probe report; sleep 2"]);
    let path = sock.path.clone();
    let c = Container::try_create(b, &["--console-socket", path.to_str().unwrap_or("")])
        .expect("create with a terminal");
    let master = sock
        .master()
        .expect("the pty master arrived on the console socket");
    c.start().expect_ok();
    let out = read_for(&master, 3000);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_default();
    let r: serde_json::Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(r["isatty"], json!([true, true, true]));
    let mounts = r["mountinfo"].as_str().unwrap_or_default();
    assert!(
        mounts
            .lines()
            .any(|l| l.split(' ').nth(4) == Some("/dev/console")),
        "/dev/console is the pty"
    );
}

#[test]
fn terminal_without_console_socket_is_refused_for_create() {
    let b = Bundle::new("tty2").set("/process/terminal", json!(true));
    let r = Container::try_create(b, &[])
        .err()
        .expect("create must fail");
    assert!(r.stderr.contains("console socket"), "{}", r.stderr);
}

#[test]
fn path_lookup_uses_the_container_path() {
    let r = run(&Bundle::new("path")
        .args(&["probe", "exit", "4"])
        .set("/process/env", json!(["PATH=/nope:/bin"])));
    assert_eq!(r.code, 4);
}

/// Socket activation: LISTEN_FDS descriptors meant for the runtime (its pid
/// in LISTEN_PID) reach the container from fd 3, with LISTEN_FDS=N and
/// LISTEN_PID=1 in its environment, as runc passes them.
#[test]
fn listen_fds_are_passed_on() {
    let script = "cat <&3; echo \" fds=$LISTEN_FDS pid=$LISTEN_PID\"";
    for (tag, for_us) in [("listen", true), ("listen-other", false)] {
        let b = Bundle::new(tag).args(&["/bin/sh", "-c", script]);
        b.write();
        let id = unique_id(tag);
        let file = env().scratch.join(format!("{id}.txt"));
        std::fs::write(&file, "activated").expect("file");
        let f = std::fs::File::open(&file).expect("open");
        // The shell's pid is the runtime's once it execs.
        let pid = if for_us { "$$" } else { "1" };
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.args(["-c", &format!("LISTEN_PID={pid} exec \"$@\""), "sh"])
            .arg(&env().runtime)
            .arg("--root")
            .arg(&env().state_root)
            .args(["run", "--bundle", b.path().to_str().unwrap_or("."), &id])
            .env("LISTEN_FDS", "1")
            .stdin(std::process::Stdio::null());
        unsafe_dup_to_3(&mut cmd, std::os::fd::AsRawFd::as_raw_fd(&f));
        let out = cmd.output().expect("run");
        let _ = runtime(&["delete", "--force", &id]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if for_us {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(stdout.trim(), "activated fds=1 pid=1");
        } else {
            // Not ours: nothing passed, no variables set.
            assert!(
                !stdout.contains("activated"),
                "fds passed for another pid: {stdout}"
            );
            assert!(stdout.contains("fds= pid="), "{stdout}");
        }
        let _ = std::fs::remove_file(file);
    }
}

/// A foreground `run` with terminal true and no console socket: the runtime
/// proxies a pty of its own, from the caller's terminal in raw mode, with
/// the caller's window size, and passes a resize (SIGWINCH) on.
#[test]
fn foreground_run_proxies_a_terminal() {
    use nix::pty::{openpty, Winsize};
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let size = |rows, cols| Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&size(30, 100)), None).expect("openpty");
    let b = Bundle::new("fgtty")
        .set("/process/terminal", json!(true))
        .args(&[
            "/bin/sh",
            "-c",
            "stty size; tty; read x; stty size; echo got-$x",
        ]);
    b.write();
    let id = unique_id("fgtty");
    let slave = || std::process::Stdio::from(pty.slave.try_clone().expect("dup slave"));
    let mut cmd = rt(&["run", "--bundle", b.path().to_str().unwrap_or("."), &id]);
    cmd.stdin(slave()).stdout(slave()).stderr(slave());
    // SAFETY: setsid and ioctl are async-signal-safe; in the child only.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn run");
    let master = pty.master;
    let first = read_until(&master, "/dev/", 10);
    // Resize the caller's terminal: the kernel signals the runtime.
    // SAFETY: TIOCSWINSZ reads a Winsize from the pointer.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size(40, 120)) };
    assert_eq!(rc, 0, "TIOCSWINSZ");
    std::thread::sleep(std::time::Duration::from_millis(300));
    nix::unistd::write(&master, b"hello\r").expect("type");
    let second = read_until(&master, "got-hello", 10);
    let status = child.wait().expect("wait");
    let _ = runtime(&["delete", "--force", &id]);
    // rrun sizes the pty before the process runs; runc 1.1.5 does it
    // after the console fd arrives, racing the first `stty`.
    assert!(
        first.contains("30 100") || !is_rrun(),
        "first size: {first:?}"
    );
    assert!(
        first.contains("/dev/pts/") || first.contains("/dev/console"),
        "tty: {first:?}"
    );
    assert!(second.contains("40 120"), "size after resize: {second:?}");
    assert!(second.contains("got-hello"), "{second:?}");
    assert!(status.success(), "exit {status:?}");
}

/// Read a pty master until `want` shows up (or `secs` pass).
fn read_until(fd: &std::os::fd::OwnedFd, want: &str, secs: u64) -> String {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut out = String::new();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !out.contains(want) && std::time::Instant::now() < end {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(100u8)).unwrap_or(0) <= 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        match nix::unistd::read(fd.as_fd(), &mut buf) {
            Ok(n) if n > 0 => out.push_str(&String::from_utf8_lossy(&buf[..n])),
            _ => break,
        }
    }
    out
}

/// Signals the caller ignores (a shell's background job ignores SIGINT and
/// SIGQUIT, nohup SIGHUP) are not passed on to the container's process, and
/// none is blocked.
#[test]
fn ignored_signals_of_the_caller_are_reset() {
    use std::os::unix::process::CommandExt;
    // No shell in between: a shell may ignore signals of its own.
    let b = Bundle::new("sigign").args(&["/bin/grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]);
    b.write();
    let id = unique_id("sigign");
    let mut cmd = rt(&["run", "--bundle", b.path().to_str().unwrap_or("."), &id]);
    // SAFETY: signal() and sigprocmask() are async-signal-safe; in the child only.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGUSR1] {
                libc::signal(sig, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("run");
    let _ = runtime(&["delete", "--force", &id]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // grep would inherit SIGHUP/SIGINT/SIGQUIT/SIGUSR1 if they were passed
    // on. rrun clears every ignored signal (also glibc's reserved 32 and 33,
    // which the test harness may ignore); runc 1.1.5 leaves those.
    for line in stdout.lines() {
        let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap_or("?"), 16);
        let leaked = if is_rrun() { u64::MAX } else { 0x207 };
        assert_eq!(mask.map(|m| m & leaked), Ok(0), "{line}");
    }
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
}
