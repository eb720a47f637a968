//! config.md "Process", "POSIX process", "Linux Process", "User",
//! "Hostname", "Domainname".

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::thread::JoinHandle;

use serde_json::{json, Value};

use crate::harness::*;
use crate::tests::Test;
use crate::{ensure, skip, t};

pub fn tests() -> Vec<Test> {
    vec![
        t!("process.args", "1.0.0", "args (array of strings) with similar semantics to IEEE Std 1003.1-2008 execvp's argv.", args),
        t!("process.args-path-lookup", "1.0.0", "The first args entry is used with the same semantics as execvp's file (searched in PATH).", args_lookup),
        t!("process.args-empty-errors", "1.0.0", "At least one args entry is REQUIRED: an empty args is an invalid value and MUST generate an error.", args_empty),
        t!("process.cwd", "1.0.0", "cwd is the working directory that will be set for the executable.", cwd),
        t!("process.cwd-relative-errors", "1.0.0", "cwd MUST be an absolute path: a relative cwd is an invalid value and MUST generate an error.", cwd_relative),
        t!("process.env", "1.0.0", "env with the same semantics as IEEE Std 1003.1-2008's environ.", env),
        t!("process.terminal", "1.0.0", "terminal: if set to true on Linux a pseudoterminal pair is allocated for the process and the pseudoterminal pty is duplicated on the process's standard streams.", terminal),
        t!("process.terminal-false", "1.0.0", "terminal defaults to false: the process's standard streams are not a terminal.", terminal_false),
        t!("process.consoleSize", "1.0.0", "consoleSize specifies the console size in characters of the terminal.", console_size),
        t!("process.consoleSize-ignored", "1.0.0", "Runtimes MUST ignore consoleSize if terminal is false or unset.", console_size_ignored),
        t!("process.rlimits-soft", "1.0.0", "For each entry in rlimits, a getrlimit(3) on type MUST succeed; rlim.rlim_cur MUST match the configured value.", |c| rlimits(c, true)),
        t!("process.rlimits-hard", "1.0.0", "For each entry in rlimits, a getrlimit(3) on type MUST succeed; rlim.rlim_max MUST match the configured value.", |c| rlimits(c, false)),
        t!("process.rlimit-unknown-errors", "1.0.0", "The runtime MUST generate an error for any values which cannot be mapped to a relevant kernel interface.", rlimit_unknown),
        t!("process.rlimit-duplicate-errors", "1.0.0", "If rlimits contains duplicated entries with same type, the runtime MUST generate an error.", rlimit_dup),
        t!("process.caps-bounding", "1.0.0", "bounding is an array of bounding capabilities that are kept for the process.", caps_bounding),
        t!("process.caps-effective", "1.0.0", "effective is an array of effective capabilities that are kept for the process.", |c| caps_pe(c, "cap_eff")),
        t!("process.caps-permitted", "1.0.0", "permitted is an array of permitted capabilities that are kept for the process.", |c| caps_pe(c, "cap_prm")),
        t!("process.caps-inheritable", "1.0.0", "inheritable is an array of inheritable capabilities that are kept for the process.", caps_inheritable),
        t!("process.caps-ambient", "1.0.0", "ambient is an array of ambient capabilities that are kept for the process (non-root user).", caps_ambient),
        t!("process.caps-unknown-warns", "1.1.0", "Any value which cannot be mapped to a relevant kernel interface MUST be logged as a warning by the runtime (and the operation continues).", caps_unknown),
        t!("process.caps-ungrantable-no-fail", "1.1.0", "Runtimes SHOULD NOT fail if the container configuration requests capabilities that cannot be granted; such values MUST be logged as a warning.", caps_ungrantable),
        t!("process.noNewPrivileges", "1.0.0", "setting noNewPrivileges to true prevents the process from gaining additional privileges (no_new_privs set).", |c| nnp(c, true)),
        t!("process.noNewPrivileges-false", "1.0.0", "noNewPrivileges false leaves no_new_privs unset.", |c| nnp(c, false)),
        t!("process.oomScoreAdj", "1.0.0", "If oomScoreAdj is set, the runtime MUST set oom_score_adj to the given value.", |c| oom(c, 500)),
        t!("process.oomScoreAdj-negative", "1.0.0", "If oomScoreAdj is set, the runtime MUST set oom_score_adj to the given value (negative).", |c| oom(c, -200)),
        t!("process.oomScoreAdj-unset", "1.0.0", "If oomScoreAdj is not set, the runtime MUST NOT change the value of oom_score_adj.", oom_unset),
        t!("process.user", "1.0.0", "uid and gid specify the user ID and group ID in the container namespace.", user),
        t!("process.additionalGids", "1.0.0", "additionalGids specifies additional group IDs in the container namespace to be added to the process.", additional_gids),
        t!("process.umask", "1.0.0", "umask specifies the umask of the user.", umask),
        t!("process.apparmorProfile", "1.0.0", "apparmorProfile specifies the name of the AppArmor profile for the process.", apparmor),
        t!("process.selinuxLabel", "1.0.0", "selinuxLabel specifies the SELinux label for the process.", selinux),
        t!("process.scheduler", "1.1.0", "scheduler: policy and nice are applied to the process.", scheduler),
        t!("process.ioPriority", "1.1.0", "ioPriority configures the I/O priority settings for the container's processes (class and priority).", io_priority),
        t!("process.execCPUAffinity-final", "1.2.1", "execCPUAffinity.final is a list of CPUs the process will be run on after the transition to container's cgroup (exec).", affinity_final),
        t!("process.execCPUAffinity-no-final", "1.2.1", "If final is omitted or empty, runtime SHOULD NOT change process' CPU affinity after the process is moved to container's cgroup.", affinity_no_final),
        t!("process.hostname", "1.0.0", "hostname specifies the container's hostname as seen by processes running inside the container.", hostname),
        t!("process.domainname", "1.1.0", "domainname specifies the container's domainname as seen by processes running inside the container.", domainname),
    ]
}

fn args(c: &Ctx) -> Res {
    let b = c.bundle().args(&[
        "/bin/sh",
        "-c",
        "for a in \"$0\" \"$@\"; do echo \"[$a]\"; done",
        "zero",
        "one",
        "two words",
        "",
    ]);
    let out = c.run(&b).must("run")?.stdout;
    ensure!(
        out == "[zero]\n[one]\n[two words]\n[]\n",
        "argv as seen: {out:?}"
    );
    Ok(())
}

fn args_lookup(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .args(&["probe", "report"])
        .set("/process/env", json!(["PATH=/usr/bin:/bin"]));
    c.run(&b)
        .must("run with args[0] found through PATH")?
        .json()?;
    Ok(())
}

fn args_empty(c: &Ctx) -> Res {
    let b = c.bundle().set("/process/args", json!([]));
    let r = c.try_create(&b, &[]);
    if let Ok(ctr) = r {
        let s = c.rt(&["start", &ctr.id]);
        ensure!(!s.ok(), "empty args accepted by create and start");
    }
    Ok(())
}

fn cwd(c: &Ctx) -> Res {
    let v = c.report(c.bundle().set("/process/cwd", json!("/tmp")))?;
    ensure!(v["cwd"] == "/tmp", "cwd {}", v["cwd"]);
    Ok(())
}

fn cwd_relative(c: &Ctx) -> Res {
    let b = c.bundle().set("/process/cwd", json!("tmp"));
    let o = c.run(&b);
    ensure!(!o.ok(), "a relative cwd was accepted");
    Ok(())
}

fn env(c: &Ctx) -> Res {
    let v = c.report(c.bundle().set(
        "/process/env",
        json!(["PATH=/bin", "A=1", "B=two words", "EMPTY="]),
    ))?;
    let e: Vec<&str> = v["env"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for want in ["PATH=/bin", "A=1", "B=two words", "EMPTY="] {
        ensure!(e.contains(&want), "{want} missing from {e:?}");
    }
    Ok(())
}

/// A --console-socket receiver: accepts one connection and takes the pty
/// master from SCM_RIGHTS.
pub struct ConsoleSocket {
    pub path: PathBuf,
    handle: Option<JoinHandle<Option<OwnedFd>>>,
}

impl ConsoleSocket {
    pub fn new(c: &Ctx) -> Result<ConsoleSocket, Why> {
        let path = c.dir.join(format!("console{}.sock", uniq()));
        let listener = UnixListener::bind(&path)
            .map_err(|e| Why::Fail(format!("bind console socket: {e}")))?;
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().ok()?;
            let (_, fds) = recv_with_fds(stream.as_raw_fd()).ok()?;
            fds.into_iter().next()
        });
        Ok(ConsoleSocket {
            path,
            handle: Some(handle),
        })
    }

    pub fn master(&mut self) -> Option<OwnedFd> {
        self.handle.take()?.join().ok()?
    }
}

/// Everything available on a pty master within `ms` milliseconds (until EOF).
pub fn read_pty(fd: &OwnedFd, ms: u64) -> String {
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    while std::time::Instant::now() < deadline {
        if !poll_in(fd.as_raw_fd(), 50) {
            continue;
        }
        let mut buf = [0u8; 4096];
        // SAFETY: reading into a buffer we own.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Run a terminal container through create --console-socket and start;
/// what the process printed on its terminal.
pub fn run_terminal(c: &Ctx, b: Bundle) -> Result<String, Why> {
    let b = b.set("/process/terminal", json!(true));
    let mut sock = ConsoleSocket::new(c)?;
    let sp = sock.path.display().to_string();
    let ctr = c
        .try_create(&b, &["--console-socket", &sp])
        .map_err(|o| Why::Fail(format!("create with a terminal failed: {}", o.brief())))?;
    let master = sock
        .master()
        .ok_or_else(|| Why::Fail("no pty master received on the console socket".into()))?;
    c.rt(&["start", &ctr.id]).must("start")?;
    let out = read_pty(&master, 3000);
    c.wait_status(&ctr, "stopped", 5);
    Ok(out)
}

fn terminal(c: &Ctx) -> Res {
    let out = run_terminal(c, c.bundle().args(&["/bin/probe", "report"]))?;
    let v: Value = serde_json::from_str(out.trim())
        .map_err(|_| Why::Fail(format!("no report on the terminal: {out:?}")))?;
    ensure!(
        v["isatty"] == json!([true, true, true]),
        "stdio isatty {}",
        v["isatty"]
    );
    Ok(())
}

fn terminal_false(c: &Ctx) -> Res {
    let v = c.report(c.bundle())?;
    ensure!(
        v["isatty"] == json!([false, false, false]),
        "stdio isatty {}",
        v["isatty"]
    );
    Ok(())
}

fn console_size(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .sh("stty size")
        .set("/process/consoleSize", json!({"height": 31, "width": 97}));
    let out = run_terminal(c, b)?;
    ensure!(out.trim() == "31 97", "stty size on the terminal: {out:?}");
    Ok(())
}

fn console_size_ignored(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set("/process/terminal", json!(false))
        .set("/process/consoleSize", json!({"height": 31, "width": 97}));
    let v = c.report(b)?;
    ensure!(
        v["isatty"] == json!([false, false, false]),
        "stdio isatty {}",
        v["isatty"]
    );
    Ok(())
}

const RLIMITS: &[(&str, libc::__rlimit_resource_t, &str, u64)] = &[
    ("RLIMIT_CPU", libc::RLIMIT_CPU, "Max cpu time", 1000),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE, "Max file size", 1 << 30),
    ("RLIMIT_DATA", libc::RLIMIT_DATA, "Max data size", 1 << 32),
    (
        "RLIMIT_STACK",
        libc::RLIMIT_STACK,
        "Max stack size",
        16 << 20,
    ),
    (
        "RLIMIT_CORE",
        libc::RLIMIT_CORE,
        "Max core file size",
        1 << 20,
    ),
    ("RLIMIT_RSS", libc::RLIMIT_RSS, "Max resident set", 1 << 32),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC, "Max processes", 4000),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE, "Max open files", 2048),
    (
        "RLIMIT_MEMLOCK",
        libc::RLIMIT_MEMLOCK,
        "Max locked memory",
        4 << 20,
    ),
    ("RLIMIT_AS", libc::RLIMIT_AS, "Max address space", 1 << 36),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS, "Max file locks", 3000),
    (
        "RLIMIT_SIGPENDING",
        libc::RLIMIT_SIGPENDING,
        "Max pending signals",
        5000,
    ),
    (
        "RLIMIT_MSGQUEUE",
        libc::RLIMIT_MSGQUEUE,
        "Max msgqueue size",
        400_000,
    ),
    ("RLIMIT_NICE", libc::RLIMIT_NICE, "Max nice priority", 10),
    (
        "RLIMIT_RTPRIO",
        libc::RLIMIT_RTPRIO,
        "Max realtime priority",
        5,
    ),
    (
        "RLIMIT_RTTIME",
        libc::RLIMIT_RTTIME,
        "Max realtime timeout",
        2_000_000,
    ),
];

fn rlimits(c: &Ctx, soft: bool) -> Res {
    // Values within the caller's hard limits: raising a hard limit needs
    // CAP_SYS_RESOURCE, which the runtime's caller may not have.
    let mut cfg = Vec::new();
    let mut want = Vec::new();
    for (name, res, label, val) in RLIMITS {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit fills a struct we own.
        unsafe { libc::getrlimit(*res, &mut lim) };
        let hard = (*val).min(lim.rlim_max);
        let s = hard / 2;
        cfg.push(json!({"type": name, "hard": hard, "soft": s}));
        want.push((*label, s, hard));
    }
    let out = c.shell(
        c.bundle().set("/process/rlimits", json!(cfg)),
        "cat /proc/self/limits",
    )?;
    let mut bad = Vec::new();
    for (label, s, h) in want {
        let line = out.lines().find(|l| l.starts_with(label)).unwrap_or("");
        let nums: Vec<&str> = line[label.len().min(line.len())..]
            .split_whitespace()
            .collect();
        let (gs, gh) = (
            nums.first().copied().unwrap_or("?"),
            nums.get(1).copied().unwrap_or("?"),
        );
        let (ws, wh) = (s.to_string(), h.to_string());
        if soft && gs != ws {
            bad.push(format!("{label}: soft {gs} (want {ws})"));
        }
        if !soft && gh != wh {
            bad.push(format!("{label}: hard {gh} (want {wh})"));
        }
    }
    ensure!(bad.is_empty(), "{}", bad.join("; "));
    Ok(())
}

fn rlimit_unknown(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_CONFORMANCE", "hard": 1, "soft": 1}]),
    );
    ensure!(!c.run(&b).ok(), "an unknown rlimit type was accepted");
    Ok(())
}

fn rlimit_dup(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}, {"type": "RLIMIT_NOFILE", "hard": 512, "soft": 512}]),
    );
    ensure!(
        !c.run(&b).ok(),
        "duplicated RLIMIT_NOFILE entries were accepted"
    );
    Ok(())
}

fn mask(names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|n| cap_number(n))
        .fold(0, |m, b| m | (1u64 << b))
}

fn caps_bounding(c: &Ctx) -> Res {
    let set = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_RAW"];
    let v = c.report(
        c.bundle()
            .set("/process/capabilities", json!({"bounding": set})),
    )?;
    ensure!(
        capmask(&v["cap_bnd"]) == mask(&set),
        "CapBnd {} (want {:016x})",
        v["cap_bnd"],
        mask(&set)
    );
    Ok(())
}

fn caps_pe(c: &Ctx, field: &str) -> Res {
    // Root with no file capabilities: after execve the kernel keeps
    // permitted = effective = bounding | inheritable; configure them equal.
    let set = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_AUDIT_WRITE",
    ];
    let v = c.report(c.bundle().set(
        "/process/capabilities",
        json!({"bounding": set, "permitted": set, "effective": set}),
    ))?;
    ensure!(
        capmask(&v[field]) == mask(&set),
        "{field} {} (want {:016x})",
        v[field],
        mask(&set)
    );
    Ok(())
}

fn caps_inheritable(c: &Ctx) -> Res {
    let all = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW",
    ];
    let inh = ["CAP_KILL", "CAP_NET_RAW"];
    let v = c.report(c.bundle().set(
        "/process/capabilities",
        json!({"bounding": all, "permitted": all, "effective": all, "inheritable": inh}),
    ))?;
    ensure!(
        capmask(&v["cap_inh"]) == mask(&inh),
        "CapInh {} (want {:016x})",
        v["cap_inh"],
        mask(&inh)
    );
    Ok(())
}

fn caps_ambient(c: &Ctx) -> Res {
    let all = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let amb = ["CAP_NET_BIND_SERVICE"];
    let v = c.report(
        c.bundle()
            .set("/process/user", json!({"uid": 1000, "gid": 1000}))
            .set("/process/noNewPrivileges", json!(false))
            .set("/process/capabilities", json!({"bounding": all, "permitted": all, "effective": all, "inheritable": all, "ambient": amb})),
    )?;
    ensure!(
        capmask(&v["cap_amb"]) == mask(&amb) && capmask(&v["cap_eff"]) == mask(&amb),
        "CapAmb {} CapEff {} (want {:016x})",
        v["cap_amb"],
        v["cap_eff"],
        mask(&amb)
    );
    Ok(())
}

fn caps_unknown(c: &Ctx) -> Res {
    let set = ["CAP_KILL", "CAP_CONFORMANCE_UNKNOWN"];
    let b = c.bundle().set(
        "/process/capabilities",
        json!({"bounding": set, "permitted": set, "effective": set}),
    );
    let o = c.run(&b);
    ensure!(
        o.ok(),
        "the container did not run (a warning MUST NOT change the flow): {}",
        o.brief()
    );
    ensure!(
        o.stderr.contains("CAP_CONFORMANCE_UNKNOWN") || o.stderr.to_lowercase().contains("warn"),
        "no warning logged: {}",
        o.brief()
    );
    Ok(())
}

fn caps_ungrantable(c: &Ctx) -> Res {
    let bit = cap_number("CAP_SYS_RESOURCE").unwrap_or(24);
    if host_cap_bounding() & (1 << bit) != 0 {
        skip!("the runtime's caller can grant every capability (CAP_SYS_RESOURCE is in its bounding set)");
    }
    let set = ["CAP_KILL", "CAP_SYS_RESOURCE"];
    let b = c.bundle().set(
        "/process/capabilities",
        json!({"bounding": set, "permitted": set, "effective": set}),
    );
    let o = c.run(&b);
    ensure!(
        o.ok(),
        "the container failed because CAP_SYS_RESOURCE cannot be granted: {}",
        o.brief()
    );
    ensure!(
        o.stderr.contains("CAP_SYS_RESOURCE") || o.stderr.to_lowercase().contains("warn"),
        "no warning logged: {}",
        o.brief()
    );
    Ok(())
}

fn nnp(c: &Ctx, on: bool) -> Res {
    let v = c.report(c.bundle().set("/process/noNewPrivileges", json!(on)))?;
    let want = if on { "1" } else { "0" };
    ensure!(
        v["no_new_privs"] == want,
        "NoNewPrivs {}",
        v["no_new_privs"]
    );
    Ok(())
}

fn oom(c: &Ctx, val: i64) -> Res {
    let bit = cap_number("CAP_SYS_RESOURCE").unwrap_or(24);
    let cur: i64 = read("/proc/self/oom_score_adj").trim().parse().unwrap_or(0);
    if val < cur && host_cap_bounding() & (1 << bit) == 0 {
        skip!(
            "lowering oom_score_adj needs CAP_SYS_RESOURCE, which this host's bounding set lacks"
        );
    }
    let v = c.report(c.bundle().set("/process/oomScoreAdj", json!(val)))?;
    ensure!(
        v["oom_score_adj"] == val,
        "oom_score_adj {}",
        v["oom_score_adj"]
    );
    Ok(())
}

/// `run` with a hook in the runtime's own process before exec.
fn run_pre(c: &Ctx, b: &Bundle, pre: fn()) -> Out {
    b.write();
    let id = c.id();
    let mut cmd =
        c.rt.command(&["run", "--bundle", &b.dir.to_string_lossy(), &id]);
    // SAFETY: the closure only makes async-signal-safe syscalls.
    unsafe {
        cmd.pre_exec(move || {
            pre();
            Ok(())
        })
    };
    let o = run_cmd(cmd, &c.dir, c.rt.timeout);
    let _ = c.rt(&["delete", "--force", &id]);
    o
}

fn oom_unset(c: &Ctx) -> Res {
    fn set() {
        let p = c"/proc/self/oom_score_adj";
        // SAFETY: plain syscalls on a constant path.
        unsafe {
            let fd = libc::open(p.as_ptr(), libc::O_WRONLY);
            if fd >= 0 {
                libc::write(fd, b"321".as_ptr().cast(), 3);
                libc::close(fd);
            }
        }
    }
    let o = run_pre(c, &c.bundle(), set);
    let v = o.must("run")?.json()?;
    ensure!(
        v["oom_score_adj"] == 321,
        "oom_score_adj {} (the caller's was 321)",
        v["oom_score_adj"]
    );
    Ok(())
}

fn user(c: &Ctx) -> Res {
    let v = c.report(
        c.bundle()
            .set("/process/user", json!({"uid": 1000, "gid": 1001})),
    )?;
    ensure!(
        v["uid"] == 1000 && v["gid"] == 1001,
        "uid {} gid {}",
        v["uid"],
        v["gid"]
    );
    Ok(())
}

fn additional_gids(c: &Ctx) -> Res {
    let v = c.report(c.bundle().set(
        "/process/user",
        json!({"uid": 1000, "gid": 1001, "additionalGids": [5, 6]}),
    ))?;
    let g: Vec<&str> = v["groups"]
        .as_str()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    ensure!(
        g.contains(&"5") && g.contains(&"6"),
        "groups {:?}",
        v["groups"]
    );
    Ok(())
}

fn umask(c: &Ctx) -> Res {
    let v = c.report(
        c.bundle()
            .set("/process/user", json!({"uid": 0, "gid": 0, "umask": 0o77})),
    )?;
    ensure!(
        v["umask"] == 0o77,
        "umask {:o}",
        v["umask"].as_u64().unwrap_or(0)
    );
    Ok(())
}

fn apparmor(c: &Ctx) -> Res {
    if !std::path::Path::new("/sys/kernel/security/apparmor").exists() {
        skip!("AppArmor is not enabled on this host");
    }
    let out = c.shell(
        c.bundle()
            .set("/process/apparmorProfile", json!("unconfined")),
        "cat /proc/self/attr/current",
    )?;
    ensure!(out.contains("unconfined"), "{out:?}");
    Ok(())
}

fn selinux(c: &Ctx) -> Res {
    if !std::path::Path::new("/sys/fs/selinux/enforce").exists() {
        skip!("SELinux is not enabled on this host");
    }
    let out = c.shell(
        c.bundle().set(
            "/process/selinuxLabel",
            json!("system_u:system_r:container_t:s0"),
        ),
        "cat /proc/self/attr/current",
    )?;
    ensure!(out.contains("container_t"), "{out:?}");
    Ok(())
}

fn scheduler(c: &Ctx) -> Res {
    let out = c.shell(
        c.bundle().set(
            "/process/scheduler",
            json!({"policy": "SCHED_BATCH", "nice": 7}),
        ),
        "cat /proc/self/stat",
    )?;
    let rest: Vec<&str> = out
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let (nice, policy) = (
        rest.get(16).copied().unwrap_or("?"),
        rest.get(38).copied().unwrap_or("?"),
    );
    ensure!(
        policy == "3" && nice == "7",
        "policy {policy} (want 3, SCHED_BATCH), nice {nice} (want 7)"
    );
    Ok(())
}

fn io_priority(c: &Ctx) -> Res {
    let out = c.shell(
        c.bundle().set(
            "/process/ioPriority",
            json!({"class": "IOPRIO_CLASS_BE", "priority": 6}),
        ),
        "ionice",
    )?;
    ensure!(out.trim() == "best-effort: prio 6", "ionice: {out:?}");
    Ok(())
}

fn exec_affinity(c: &Ctx, aff: Value) -> Result<String, Why> {
    let ctr = c.create(&c.bundle().args(&["/bin/probe", "sleep", "60"]))?;
    c.rt(&["start", &ctr.id]).must("start")?;
    let p = c.dir.join(format!("process{}.json", uniq()));
    let proc_ = json!({
        "terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/",
        "args": ["/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status"],
        "env": ["PATH=/bin"], "execCPUAffinity": aff
    });
    std::fs::write(&p, proc_.to_string()).map_err(|e| Why::Fail(e.to_string()))?;
    let o = c
        .rt(&["exec", "--process", &p.to_string_lossy(), &ctr.id])
        .must("exec")?;
    Ok(o.stdout.split(':').nth(1).unwrap_or("").trim().to_string())
}

fn affinity_final(c: &Ctx) -> Res {
    let got = exec_affinity(c, json!({"final": "0"}))?;
    ensure!(got == "0", "Cpus_allowed_list {got:?} (want 0)");
    Ok(())
}

fn affinity_no_final(c: &Ctx) -> Res {
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if n < 2 {
        skip!("needs two CPUs");
    }
    let got = exec_affinity(c, json!({"initial": "1"}))?;
    ensure!(
        got == "1",
        "Cpus_allowed_list {got:?} (want 1: the initial affinity, unchanged)"
    );
    Ok(())
}

fn hostname(c: &Ctx) -> Res {
    let v = c.report(c.bundle().set("/hostname", json!("conformance-host")))?;
    ensure!(
        v["hostname"] == "conformance-host",
        "hostname {}",
        v["hostname"]
    );
    Ok(())
}

fn domainname(c: &Ctx) -> Res {
    let v = c.report(c.bundle().set("/domainname", json!("conformance.test")))?;
    ensure!(
        v["domainname"] == "conformance.test",
        "domainname {}",
        v["domainname"]
    );
    Ok(())
}
