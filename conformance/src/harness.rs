//! The runtime-agnostic harness: a runtime is a binary (plus an optional
//! wrapper prefix) spoken to through the runc command line (`create`,
//! `start`, `state`, `kill`, `delete`, `run`, `exec`, `features`). Each test
//! gets a `Ctx` with its own scratch directory; everything a test creates
//! (containers, holder processes, cgroups, links, host mounts) is registered
//! there and undone when the test ends, pass or fail.

use std::cell::RefCell;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Why a test did not pass.
#[derive(Debug, Clone)]
pub enum Why {
    Fail(String),
    Skip(String),
}

pub type Res = Result<(), Why>;

impl From<String> for Why {
    fn from(s: String) -> Why {
        Why::Fail(s)
    }
}

#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::harness::Why::Fail(format!($($fmt)+)));
        }
    };
}

#[macro_export]
macro_rules! fail {
    ($($fmt:tt)+) => {
        return Err($crate::harness::Why::Fail(format!($($fmt)+)))
    };
}

#[macro_export]
macro_rules! skip {
    ($($fmt:tt)+) => {
        return Err($crate::harness::Why::Skip(format!($($fmt)+)))
    };
}

/// A runtime under test.
pub struct Runtime {
    /// Column name: rrun, runc, crun.
    pub name: String,
    pub bin: PathBuf,
    /// Prefix argv; the runtime binary is appended after it.
    pub wrapper: Vec<String>,
    /// --root, private to this run.
    pub root: PathBuf,
    /// The spec version the runtime declares (features ociVersionMax, or
    /// the `spec:` line of --version).
    pub spec_version: String,
    pub rootfs: PathBuf,
    pub scratch: PathBuf,
    /// Seconds a single runtime command may take.
    pub timeout: u64,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn uniq() -> usize {
    COUNTER.fetch_add(1, Ordering::SeqCst)
}

/// "1.0.2-dev" -> (1, 0, 2).
pub fn parse_version(v: &str) -> (u64, u64, u64) {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let mut it = core.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

/// The result of one command.
#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.code == 0 && !self.timed_out
    }
    pub fn json(&self) -> Result<Value, Why> {
        serde_json::from_str(self.stdout.trim()).map_err(|e| {
            Why::Fail(format!(
                "output is not JSON ({e}): {:.300} / stderr: {:.300}",
                self.stdout, self.stderr
            ))
        })
    }
    pub fn brief(&self) -> String {
        format!(
            "exit {}{}, stdout {:?}, stderr {:?}",
            self.code,
            if self.timed_out { " (timed out)" } else { "" },
            trunc(&self.stdout, 200),
            trunc(&self.stderr, 300)
        )
    }
    /// Demand success.
    pub fn must(self, what: &str) -> Result<Out, Why> {
        if self.ok() {
            Ok(self)
        } else {
            Err(Why::Fail(format!("{what} failed: {}", self.brief())))
        }
    }
}

pub fn trunc(s: &str, n: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// Wait for a child with a deadline; kill its process group on timeout.
pub fn wait_child(mut child: Child, secs: u64) -> (i32, bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut sleep = 1;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                use std::os::unix::process::ExitStatusExt;
                let code = st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
                return (code, false);
            }
            Ok(None) => {}
            Err(_) => return (-1, false),
        }
        if Instant::now() > deadline {
            // SAFETY: signalling the process group we created for this child.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.kill();
            let _ = child.wait();
            return (-1, true);
        }
        std::thread::sleep(Duration::from_millis(sleep));
        sleep = (sleep * 2).min(20);
    }
}

/// Run any command with output through files (a created container inherits
/// the caller's stdio and would hold pipes open), in its own process group.
pub fn run_cmd(mut cmd: Command, dir: &Path, secs: u64) -> Out {
    let n = uniq();
    let (o, e) = (dir.join(format!(".out{n}")), dir.join(format!(".err{n}")));
    let spawned = (|| -> std::io::Result<Child> {
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(&o)?)
            .stderr(std::fs::File::create(&e)?)
            .process_group(0)
            .spawn()
    })();
    let (code, timed_out) = match spawned {
        Ok(child) => wait_child(child, secs),
        Err(err) => {
            let _ = std::fs::write(&e, format!("spawn: {err}"));
            (-1, false)
        }
    };
    let read = |p: &Path| {
        let s = std::fs::read(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        String::from_utf8_lossy(&s).into_owned()
    };
    Out {
        code,
        stdout: read(&o),
        stderr: read(&e),
        timed_out,
    }
}

pub fn sh(script: &str) -> Out {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script);
    run_cmd(c, &std::env::temp_dir(), 30)
}

impl Runtime {
    /// A command of the runtime (wrapper, binary, --root, args).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = if self.wrapper.is_empty() {
            Command::new(&self.bin)
        } else {
            let mut c = Command::new(&self.wrapper[0]);
            c.args(&self.wrapper[1..]).arg(&self.bin);
            c
        };
        c.arg("--root").arg(&self.root).args(args);
        c
    }

    pub fn exec(&self, args: &[&str]) -> Out {
        run_cmd(self.command(args), &self.scratch, self.timeout)
    }

    /// Is the test's spec version newer than this runtime's?
    pub fn too_old_for(&self, since: &str) -> bool {
        parse_version(since) > parse_version(&self.spec_version)
    }
}

/// Host-side cleanups a test registers.
type Cleanup = Box<dyn FnOnce()>;

/// One test's context.
pub struct Ctx<'a> {
    pub rt: &'a Runtime,
    pub dir: PathBuf,
    ids: RefCell<Vec<String>>,
    cleanups: RefCell<Vec<Cleanup>>,
}

impl<'a> Ctx<'a> {
    pub fn new(rt: &'a Runtime, test: &str) -> Ctx<'a> {
        let dir = rt
            .scratch
            .join(format!("{}-{}", test.replace(['/', ' '], "_"), uniq()));
        let _ = std::fs::create_dir_all(&dir);
        Ctx {
            rt,
            dir,
            ids: RefCell::new(Vec::new()),
            cleanups: RefCell::new(Vec::new()),
        }
    }

    /// A fresh container id, deleted (forcibly) when the test ends.
    pub fn id(&self) -> String {
        let id = format!("cf{}-{}", std::process::id(), uniq());
        self.ids.borrow_mut().push(id.clone());
        id
    }

    pub fn on_cleanup(&self, f: impl FnOnce() + 'static) {
        self.cleanups.borrow_mut().push(Box::new(f));
    }

    pub fn rt(&self, args: &[&str]) -> Out {
        self.rt.exec(args)
    }

    /// A bundle directory with the default config.
    pub fn bundle(&self) -> Bundle {
        let dir = self.dir.join(format!("bundle{}", uniq()));
        let _ = std::fs::create_dir_all(&dir);
        Bundle {
            dir,
            spec: default_spec(&self.rt.rootfs, &self.rt.spec_version),
        }
    }

    /// A host directory under the test's scratch, created.
    pub fn hostdir(&self, name: &str) -> PathBuf {
        let d = self.dir.join(name);
        let _ = std::fs::create_dir_all(&d);
        d
    }

    /// `run` a bundle in the foreground (then make sure it is gone).
    pub fn run(&self, b: &Bundle) -> Out {
        b.write();
        let id = self.id();
        let out = self.rt(&["run", "--bundle", &b.dir.to_string_lossy(), &id]);
        let _ = self.rt(&["delete", "--force", &id]);
        out
    }

    /// `run` a bundle whose process is the probe's `report`.
    pub fn report(&self, mut b: Bundle) -> Result<Value, Why> {
        b.spec["process"]["args"] = json!(["/bin/probe", "report"]);
        self.run(&b).must("run")?.json()
    }

    /// `run` a shell script in the container; returns its output.
    pub fn shell(&self, mut b: Bundle, script: &str) -> Result<String, Why> {
        b.spec["process"]["args"] = json!(["/bin/sh", "-c", script]);
        Ok(self.run(&b).must("run")?.stdout)
    }

    /// `create` a bundle with the given extra arguments.
    pub fn try_create(&self, b: &Bundle, extra: &[&str]) -> Result<Ctr, Out> {
        b.write();
        let id = self.id();
        let n = uniq();
        let stdout = self.dir.join(format!("ctr{n}.stdout"));
        let stderr = self.dir.join(format!("ctr{n}.stderr"));
        let mut cmd = self
            .rt
            .command(&["create", "--bundle", &b.dir.to_string_lossy()]);
        cmd.args(extra).arg(&id);
        // The container inherits these files as its stdio.
        let spawned = (|| -> std::io::Result<Child> {
            cmd.stdin(Stdio::null())
                .stdout(std::fs::File::create(&stdout)?)
                .stderr(std::fs::File::create(&stderr)?)
                .process_group(0)
                .spawn()
        })();
        let (code, timed_out) = match spawned {
            Ok(c) => wait_child(c, self.rt.timeout),
            Err(_) => (-1, false),
        };
        let out = Out {
            code,
            stdout: std::fs::read_to_string(&stdout).unwrap_or_default(),
            stderr: std::fs::read_to_string(&stderr).unwrap_or_default(),
            timed_out,
        };
        if out.ok() {
            Ok(Ctr {
                id,
                bundle: b.dir.clone(),
                stdout,
            })
        } else {
            let _ = self.rt(&["delete", "--force", &id]);
            Err(out)
        }
    }

    pub fn create(&self, b: &Bundle) -> Result<Ctr, Why> {
        self.try_create(b, &[])
            .map_err(|o| Why::Fail(format!("create failed: {}", o.brief())))
    }

    pub fn state(&self, c: &Ctr) -> Result<Value, Why> {
        self.rt(&["state", &c.id]).must("state")?.json()
    }

    pub fn status(&self, c: &Ctr) -> String {
        self.rt(&["state", &c.id])
            .json()
            .ok()
            .and_then(|v| v["status"].as_str().map(str::to_string))
            .unwrap_or_else(|| "<no state>".into())
    }

    pub fn pid(&self, c: &Ctr) -> i32 {
        self.rt(&["state", &c.id])
            .json()
            .ok()
            .and_then(|v| v["pid"].as_i64())
            .unwrap_or(0) as i32
    }

    /// Poll until the container reaches `status` (at most `secs`).
    pub fn wait_status(&self, c: &Ctr, status: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.status(c) == status {
                return true;
            }
            std::thread::sleep(Duration::from_millis(15));
        }
        false
    }

    /// create, start, wait for exit; the container's stdout.
    pub fn create_start_wait(&self, b: &Bundle) -> Result<(Ctr, String), Why> {
        let c = self.create(b)?;
        self.rt(&["start", &c.id]).must("start")?;
        ensure!(
            self.wait_status(&c, "stopped", 20),
            "container did not stop (status {})",
            self.status(&c)
        );
        let out = std::fs::read_to_string(&c.stdout).unwrap_or_default();
        Ok((c, out))
    }

    /// Start a host helper process (a namespace holder, a cgroup occupant),
    /// killed when the test ends.
    pub fn spawn_holder(&self, args: &[&str]) -> Result<u32, Why> {
        let child = Command::new(args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| Why::Fail(format!("spawn {args:?}: {e}")))?;
        let pid = child.id();
        let child = std::sync::Mutex::new(Some(child));
        self.on_cleanup(move || {
            // SAFETY: the group was created for this helper.
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            if let Some(mut c) = child.lock().ok().and_then(|mut g| g.take()) {
                let _ = c.wait();
            }
        });
        Ok(pid)
    }
}

impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let _ = self.rt.exec(&["delete", "--force", id]);
        }
        for f in self.cleanups.borrow_mut().drain(..).rev() {
            f();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A created container.
pub struct Ctr {
    pub id: String,
    pub bundle: PathBuf,
    pub stdout: PathBuf,
}

/// A bundle directory holding config.json.
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Value,
}

impl Bundle {
    pub fn write(&self) {
        let _ = std::fs::write(
            self.dir.join("config.json"),
            serde_json::to_vec_pretty(&self.spec).unwrap_or_default(),
        );
    }

    pub fn args(mut self, args: &[&str]) -> Bundle {
        self.spec["process"]["args"] = json!(args);
        self
    }

    pub fn sh(self, script: &str) -> Bundle {
        self.args(&["/bin/sh", "-c", script])
    }

    /// Set a value at a JSON pointer ("/process/cwd"), creating objects.
    pub fn set(mut self, pointer: &str, value: Value) -> Bundle {
        set_pointer(&mut self.spec, pointer, value);
        self
    }

    pub fn edit(mut self, f: impl FnOnce(&mut Value)) -> Bundle {
        f(&mut self.spec);
        self
    }

    pub fn mount(mut self, m: Value) -> Bundle {
        if let Some(a) = self.spec["mounts"].as_array_mut() {
            a.push(m);
        }
        self
    }

    /// Bind a host directory into the container, read-write.
    pub fn bind(self, host: &Path, dest: &str) -> Bundle {
        self.mount(json!({"destination": dest, "type": "bind", "source": host, "options": ["rbind", "rw"]}))
    }

    pub fn ns_remove(mut self, ty: &str) -> Bundle {
        if let Some(a) = self.spec["linux"]["namespaces"].as_array_mut() {
            a.retain(|n| n["type"] != ty);
        }
        self
    }

    pub fn ns_add(mut self, ns: Value) -> Bundle {
        let ty = ns["type"].as_str().unwrap_or("").to_string();
        self = self.ns_remove(&ty);
        if let Some(a) = self.spec["linux"]["namespaces"].as_array_mut() {
            a.push(ns);
        }
        self
    }

    /// Give this bundle its own rootfs (hard links to the shared one), for
    /// tests that plant files in it; root.path becomes relative ("rootfs").
    pub fn private_rootfs(&mut self, shared: &Path) -> Result<PathBuf, Why> {
        let dest = self.dir.join("rootfs");
        let ok = Command::new("cp")
            .arg("-a")
            .arg("-l")
            .arg(shared)
            .arg(&dest)
            .status()
            .is_ok_and(|s| s.success());
        ensure!(ok, "cp -al rootfs failed");
        self.spec["root"]["path"] = json!("rootfs");
        Ok(dest)
    }
}

pub fn set_pointer(v: &mut Value, pointer: &str, value: Value) {
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let mut cur = v;
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if let Value::Array(a) = cur {
            let idx: usize = p.parse().unwrap_or(a.len());
            if last {
                if idx < a.len() {
                    a[idx] = value;
                } else {
                    a.push(value);
                }
                return;
            }
            cur = &mut a[idx];
            continue;
        }
        if !cur.is_object() {
            *cur = json!({});
        }
        if last {
            cur[*p] = value;
            return;
        }
        if cur.get(*p).is_none() {
            cur[*p] = json!({});
        }
        cur = &mut cur[*p];
    }
}

/// The default spec (current runc's `spec`, non-terminal, read-only root),
/// with the probe's report as the process.
pub fn default_spec(rootfs: &Path, oci_version: &str) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": oci_version,
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/bin/probe", "report"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": rootfs, "readonly": true},
        "hostname": "conformance",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                            "/proc/scsi", "/sys/devices/virtual/tpm"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// Mountinfo lines (as the probe or a host read reports) at mount point `mp`.
pub fn mount_lines<'v>(mountinfo: &'v str, mp: &str) -> Vec<&'v str> {
    mountinfo
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some(mp))
        .collect()
}

/// Parsed mountinfo entry.
pub struct MountEntry {
    pub opts: Vec<String>,
    pub optional: Vec<String>,
    pub fstype: String,
    pub super_opts: Vec<String>,
}

/// The last (topmost) mount at `mp`.
pub fn mount_at(mountinfo: &str, mp: &str) -> Option<MountEntry> {
    let l = *mount_lines(mountinfo, mp).last()?;
    let fields: Vec<&str> = l.split(' ').collect();
    let sep = fields.iter().position(|f| *f == "-")?;
    Some(MountEntry {
        opts: fields[5].split(',').map(str::to_string).collect(),
        optional: fields[6..sep].iter().map(|s| s.to_string()).collect(),
        fstype: fields.get(sep + 1)?.to_string(),
        super_opts: fields
            .get(sep + 3)
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
    })
}

/// Parse a hex capability mask.
pub fn capmask(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap_or("0"), 16).unwrap_or(0)
}

/// Capability number by name (the kernel's numbering).
pub fn cap_number(name: &str) -> Option<u32> {
    const CAPS: &[&str] = &[
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    CAPS.iter().position(|c| *c == name).map(|p| p as u32)
}

/// Our own (the runtime caller's) capability bounding set.
pub fn host_cap_bounding() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

/// The namespace link of a process ("net:[4026531992]").
pub fn ns_of(pid: &str, ty: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ty}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

pub fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Is a process alive (and not a zombie)?
pub fn alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    let stat = read(format!("/proc/{pid}/stat"));
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.split_whitespace().next())
        .unwrap_or("");
    !stat.is_empty() && state != "Z" && state != "X"
}

/// Poll `f` for up to `ms` milliseconds.
pub fn eventually(ms: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_millis(ms);
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The v1 hierarchies (mount points) of this host, by controller name.
pub fn v1_hierarchy(controller: &str) -> Option<PathBuf> {
    for l in read("/proc/self/mountinfo").lines() {
        let f: Vec<&str> = l.split(' ').collect();
        let Some(sep) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if f.get(sep + 1) == Some(&"cgroup")
            && f.get(sep + 3)
                .is_some_and(|o| o.split(',').any(|x| x == controller))
        {
            return Some(PathBuf::from(f[4]));
        }
    }
    None
}

/// recvmsg(2) one message with up to 8 descriptors over SCM_RIGHTS.
pub fn recv_with_fds(
    fd: std::os::fd::RawFd,
) -> std::io::Result<(Vec<u8>, Vec<std::os::fd::OwnedFd>)> {
    use std::os::fd::FromRawFd;
    let mut buf = vec![0u8; 65536];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: CMSG_SPACE is a pure computation.
    let space =
        unsafe { libc::CMSG_SPACE((8 * std::mem::size_of::<libc::c_int>()) as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    // SAFETY: a zeroed msghdr is valid; we fill the pointers below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg points at buffers we own for the duration of the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    let mut fds = Vec::new();
    // SAFETY: walking the control messages the kernel wrote into cbuf.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c) as *const libc::c_int;
                let len = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for i in 0..len / std::mem::size_of::<libc::c_int>() {
                    fds.push(std::os::fd::OwnedFd::from_raw_fd(std::ptr::read_unaligned(
                        data.add(i),
                    )));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((buf, fds))
}

/// Is `fd` readable within `ms` milliseconds?
pub fn poll_in(fd: std::os::fd::RawFd, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd we own.
    unsafe { libc::poll(&mut p, 1, ms) > 0 }
}
