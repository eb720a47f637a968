//! probe: a static binary that runs inside test containers and reports what
//! it observes, as one JSON object (`probe report`) or through small action
//! verbs the tests use to poke at the container's confinement.

use std::ffi::CString;
use std::fmt::Write as _;
use std::io::Write;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

fn fds() -> Vec<(i32, String)> {
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        for e in dir.flatten() {
            let n: i32 = e.file_name().to_string_lossy().parse().unwrap_or(-1);
            let target = std::fs::read_link(e.path())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            out.push((n, target));
        }
    }
    out.sort();
    out
}

fn rlimits() -> String {
    let names = [
        ("RLIMIT_CPU", libc::RLIMIT_CPU),
        ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
        ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
        ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
        ("RLIMIT_CORE", libc::RLIMIT_CORE),
        ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
        ("RLIMIT_STACK", libc::RLIMIT_STACK),
    ];
    let mut parts = Vec::new();
    for (name, r) in names {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit fills a struct we own.
        unsafe { libc::getrlimit(r, &mut lim) };
        parts.push(format!(
            "{}:[{},{}]",
            esc(name),
            lim.rlim_cur as i128,
            lim.rlim_max as i128
        ));
    }
    format!("{{{}}}", parts.join(","))
}

fn isatty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

fn umask() -> u32 {
    // SAFETY: umask is always safe; we put the old value back.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}

fn hostname() -> (String, String) {
    // SAFETY: uname fills a struct we own.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    unsafe { libc::uname(&mut u) };
    let s = |a: &[libc::c_char]| {
        let bytes: Vec<u8> = a
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (s(&u.nodename), s(&u.domainname))
}

fn report() -> String {
    let status = read("/proc/self/status");
    let (host, domain) = hostname();
    let env: Vec<String> = std::env::vars()
        .map(|(k, v)| esc(&format!("{k}={v}")))
        .collect();
    let fds: Vec<String> = fds()
        .iter()
        .map(|(n, t)| format!("[{n},{}]", esc(t)))
        .collect();
    let groups = status_field(&status, "Groups:");
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let fields = [
        ("pid", std::process::id().to_string()),
        ("ppid", (unsafe { libc::getppid() }).to_string()),
        (
            "uid",
            status_field(&status, "Uid:")
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string(),
        ),
        (
            "gid",
            status_field(&status, "Gid:")
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string(),
        ),
        ("groups", esc(&groups)),
        ("cap_inh", esc(&status_field(&status, "CapInh:"))),
        ("cap_prm", esc(&status_field(&status, "CapPrm:"))),
        ("cap_eff", esc(&status_field(&status, "CapEff:"))),
        ("cap_bnd", esc(&status_field(&status, "CapBnd:"))),
        ("cap_amb", esc(&status_field(&status, "CapAmb:"))),
        ("no_new_privs", esc(&status_field(&status, "NoNewPrivs:"))),
        ("seccomp", esc(&status_field(&status, "Seccomp:"))),
        ("hostname", esc(&host)),
        ("domainname", esc(&domain)),
        ("cwd", esc(&cwd)),
        ("umask", umask().to_string()),
        ("env", format!("[{}]", env.join(","))),
        ("fds", format!("[{}]", fds.join(","))),
        (
            "isatty",
            format!("[{},{},{}]", isatty(0), isatty(1), isatty(2)),
        ),
        ("rlimits", rlimits()),
        (
            "oom_score_adj",
            read("/proc/self/oom_score_adj").trim().to_string(),
        ),
        ("uid_map", esc(&read("/proc/self/uid_map"))),
        ("gid_map", esc(&read("/proc/self/gid_map"))),
        ("cgroup", esc(&read("/proc/self/cgroup"))),
        ("mountinfo", esc(&read("/proc/self/mountinfo"))),
        ("sid", (unsafe { libc::getsid(0) }).to_string()),
    ];
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{}", esc(k), v))
        .collect();
    format!("{{{}}}\n", body.join(","))
}

/// Try to open a path with a mode ("r", "w", "rw"); print "ok" or the errno text.
fn try_open(path: &str, mode: &str) -> i32 {
    let flags = match mode {
        "w" => libc::O_WRONLY,
        "rw" => libc::O_RDWR,
        _ => libc::O_RDONLY,
    };
    let Ok(c) = CString::new(path) else { return 2 };
    // SAFETY: c is a valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        println!("{}", std::io::Error::last_os_error());
        return 1;
    }
    println!("ok");
    0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let verb = args.get(1).map(String::as_str).unwrap_or("report");
    let code = match verb {
        "report" => {
            let _ = std::io::stdout().write_all(report().as_bytes());
            0
        }
        "exit" => args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0),
        "sleep" => {
            let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3600);
            std::thread::sleep(std::time::Duration::from_secs(secs));
            0
        }
        "open" => try_open(
            args.get(2).map(String::as_str).unwrap_or("/"),
            args.get(3).map(String::as_str).unwrap_or("r"),
        ),
        "write" => {
            let path = args.get(2).cloned().unwrap_or_default();
            match std::fs::write(&path, args.get(3).cloned().unwrap_or_default()) {
                Ok(()) => {
                    println!("ok");
                    0
                }
                Err(e) => {
                    println!("{e}");
                    1
                }
            }
        }
        "syscall" => {
            // probe syscall NR [ARG...]: raw syscall, prints "ok RET" or "errno N".
            let nums: Vec<i64> = args.iter().skip(2).filter_map(|a| a.parse().ok()).collect();
            let a = |i: usize| nums.get(i).copied().unwrap_or(0);
            // SAFETY: the tests choose syscalls whose zero/small arguments are harmless.
            let ret = unsafe { libc::syscall(a(0), a(1), a(2), a(3), a(4), a(5), a(6)) };
            if ret < 0 {
                println!(
                    "errno {}",
                    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
                );
                1
            } else {
                println!("ok {ret}");
                0
            }
        }
        "mkdir" => match std::fs::create_dir(args.get(2).cloned().unwrap_or_default()) {
            Ok(()) => {
                println!("ok");
                0
            }
            Err(e) => {
                println!("errno {}", e.raw_os_error().unwrap_or(0));
                1
            }
        },
        "alloc" => {
            // probe alloc MB: allocate and touch MB mebibytes (a memory hog).
            let mb: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
            let mut chunks: Vec<Vec<u8>> = Vec::new();
            for _ in 0..mb {
                chunks.push(vec![1u8; 1 << 20]);
            }
            println!("allocated {} MiB", chunks.len());
            0
        }
        "spin" => {
            // probe spin SECS: burn CPU for SECS seconds of wall time.
            let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
            let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
            let mut x = 0u64;
            while std::time::Instant::now() < end {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            println!("spun {x}");
            0
        }
        "fork" => {
            // probe fork N: start N sleeping children; print how many started.
            let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
            let mut started = 0;
            for _ in 0..n {
                // SAFETY: the child only sleeps and exits.
                match unsafe { libc::fork() } {
                    0 => {
                        std::thread::sleep(std::time::Duration::from_secs(5));
                        // SAFETY: leaving the child at once.
                        unsafe { libc::_exit(0) };
                    }
                    pid if pid > 0 => started += 1,
                    _ => break,
                }
            }
            println!("started {started}");
            0
        }
        "signal-self" => {
            let sig: i32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(9);
            // SAFETY: raising a signal on ourselves.
            unsafe { libc::raise(sig) };
            0
        }
        other => {
            eprintln!("probe: unknown verb {other}");
            2
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}
