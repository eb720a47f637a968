//! Test harness for real containers. The runtime under test is a parameter
//! (RRUN_RUNTIME, default: the workspace's release rrun), so the same tests
//! run against runc as an oracle. Bundles share one busybox rootfs (with the
//! probe at /bin/probe) and differ only in config.json, which starts from the
//! default spec of current runc.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::{json, Value};

pub mod console;

/// Where things are.
pub struct Env {
    pub runtime: PathBuf,
    pub rootfs: PathBuf,
    /// --root for every command, private to this test process.
    pub state_root: PathBuf,
    /// Scratch space for bundles and files.
    pub scratch: PathBuf,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let ws = workspace();
        let runtime = std::env::var_os("RRUN_RUNTIME")
            .map(PathBuf::from)
            .unwrap_or_else(|| ws.join("target/release/rrun"));
        let rootfs = std::env::var_os("RRUN_TEST_ROOTFS")
            .map(PathBuf::from)
            .unwrap_or_else(|| ws.join("target/test-bundle/rootfs"));
        assert!(
            rootfs.join("bin/probe").exists(),
            "no test rootfs at {} (run hack/test.sh, or set RRUN_TEST_ROOTFS)",
            rootfs.display()
        );
        let tag = format!(
            "{}-{}",
            runtime.file_name().and_then(|n| n.to_str()).unwrap_or("rt"),
            std::process::id()
        );
        let state_root = PathBuf::from(format!("/run/rrun-it/{tag}"));
        let scratch = std::env::temp_dir().join(format!("rrun-it-{tag}"));
        std::fs::create_dir_all(&scratch).expect("scratch dir");
        Env {
            runtime,
            rootfs,
            state_root,
            scratch,
        }
    })
}

/// Is the runtime under test rrun (some tests check rrun-only behaviour)?
pub fn is_rrun() -> bool {
    env()
        .runtime
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("rrun"))
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique container id for a test.
pub fn unique_id(tag: &str) -> String {
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// The default spec of current runc, pointing at the shared rootfs.
pub fn default_spec() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.2.0",
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
        "root": {"path": env().rootfs, "readonly": true},
        "hostname": "rrun-test",
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

/// A bundle directory holding only config.json.
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Value,
}

impl Bundle {
    pub fn new(tag: &str) -> Bundle {
        let dir = env().scratch.join(unique_id(tag));
        std::fs::create_dir_all(&dir).expect("bundle dir");
        Bundle {
            dir,
            spec: default_spec(),
        }
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.spec["process"]["args"] = json!(args);
        self
    }

    /// Set a value at a JSON pointer ("/process/cwd"), creating objects.
    pub fn set(mut self, pointer: &str, value: Value) -> Self {
        set_pointer(&mut self.spec, pointer, value);
        self
    }

    /// Edit the spec with a closure.
    pub fn edit(mut self, f: impl FnOnce(&mut Value)) -> Self {
        f(&mut self.spec);
        self
    }

    /// Without the config's mount on `destination`.
    pub fn without_mount(self, destination: &str) -> Self {
        self.edit(|s| remove_mount(s, destination))
    }

    /// A seccomp profile that allows everything but `syscall` (EPERM).
    pub fn denying(self, syscall: &str) -> Self {
        self.edit(|s| deny_syscall(s, syscall))
    }

    /// A new user namespace with `maps` for uids and gids.
    pub fn userns(self, maps: Value) -> Self {
        self.edit(|s| add_userns(s, maps))
    }

    /// The same capabilities in the bounding, effective and permitted sets.
    pub fn caps<S: AsRef<str>>(self, names: &[S]) -> Self {
        let v = json!(names.iter().map(AsRef::as_ref).collect::<Vec<&str>>());
        self.set("/process/capabilities/bounding", v.clone())
            .set("/process/capabilities/effective", v.clone())
            .set("/process/capabilities/permitted", v)
    }

    /// Give this bundle its own rootfs (hard links to the shared one), for
    /// tests that plant files or symlinks in it. Returns its path.
    pub fn private_rootfs(&mut self) -> PathBuf {
        let dest = self.dir.join("rootfs");
        let ok = Command::new("cp")
            .arg("-al")
            .arg(&env().rootfs)
            .arg(&dest)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cp -al rootfs");
        self.spec["root"]["path"] = json!("rootfs");
        dest
    }

    pub fn write(&self) {
        std::fs::write(
            self.dir.join("config.json"),
            serde_json::to_vec_pretty(&self.spec).expect("json"),
        )
        .expect("write config.json");
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One id-mapping range of a spec.
pub fn id_range(container: u32, host: u32, size: u32) -> Value {
    json!({"containerID": container, "hostID": host, "size": size})
}

/// Give `spec` a new user namespace with `maps` for both uids and gids.
pub fn add_userns(spec: &mut Value, maps: Value) {
    spec["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .push(json!({"type": "user"}));
    spec["linux"]["uidMappings"] = maps.clone();
    spec["linux"]["gidMappings"] = maps;
}

/// Remove `spec`'s mount on `destination`.
pub fn remove_mount(spec: &mut Value, destination: &str) {
    spec["mounts"]
        .as_array_mut()
        .expect("mounts")
        .retain(|m| m["destination"] != destination);
}

/// Give `spec` a seccomp profile that allows everything but `syscall`.
pub fn deny_syscall(spec: &mut Value, syscall: &str) {
    spec["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": [syscall], "action": "SCMP_ACT_ERRNO"}]
    });
}

/// Run `script` with /bin/sh -c in bundle `b`.
pub fn sh(b: Bundle, script: &str) -> Run {
    run(&b.args(&["/bin/sh", "-c", script]))
}

pub fn set_pointer(v: &mut Value, pointer: &str, value: Value) {
    let mut cur = v;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, p) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            match cur {
                Value::Array(a) => {
                    let idx: usize = p.parse().expect("array index");
                    if idx < a.len() {
                        a[idx] = value;
                    } else {
                        a.push(value);
                    }
                }
                _ => {
                    if !cur.is_object() {
                        *cur = json!({});
                    }
                    cur[*p] = value;
                }
            }
            return;
        }
        cur = match cur {
            Value::Array(a) => &mut a[p.parse::<usize>().expect("array index")],
            _ => {
                if cur.get(*p).is_none() {
                    cur[*p] = json!({});
                }
                &mut cur[*p]
            }
        };
    }
}

/// The result of one runtime command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// Parse stdout as one JSON document (the probe's report).
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} stderr: {}", self.stdout, self.stderr))
    }

    #[track_caller]
    pub fn expect_ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "command failed: stdout {:?} stderr {:?}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A command of the runtime under test, with --root set.
pub fn rt(args: &[&str]) -> Command {
    let mut c = Command::new(&env().runtime);
    c.arg("--root").arg(&env().state_root).args(args);
    c
}

/// Run a runtime command. Output goes through files, not pipes: a created
/// container inherits the caller's stdio and would hold pipes open.
pub fn runtime(args: &[&str]) -> Run {
    let tag = unique_id("out");
    let (o, e) = (
        env().scratch.join(format!("{tag}.out")),
        env().scratch.join(format!("{tag}.err")),
    );
    let status = rt(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).expect("stdout file"))
        .stderr(std::fs::File::create(&e).expect("stderr file"))
        .status()
        .expect("spawn runtime");
    let read = |p: &Path| {
        let s = std::fs::read(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        s
    };
    Run::from(Output {
        status,
        stdout: read(&o),
        stderr: read(&e),
    })
}

/// `run` a bundle in the foreground and collect its output.
pub fn run(b: &Bundle) -> Run {
    b.write();
    let id = unique_id("run");
    let r = runtime(&["run", "--bundle", b.path().to_str().unwrap_or("."), &id]);
    // run deletes the container; a failed run must leave nothing either.
    let _ = runtime(&["delete", "--force", &id]);
    r
}

/// `run` and parse the probe's report.
pub fn report(b: Bundle) -> Value {
    run(&b.args(&["/bin/probe", "report"])).expect_ok().json()
}

/// A created container, deleted (forcibly) when dropped.
pub struct Container {
    pub id: String,
    pub bundle: Bundle,
}

impl Container {
    /// `create` the bundle; panics if create fails.
    pub fn create(b: Bundle) -> Container {
        let c = Container::try_create(b, &[]);
        match c {
            Ok(c) => c,
            Err(r) => panic!("create failed: {r:?}"),
        }
    }

    pub fn try_create(b: Bundle, extra: &[&str]) -> Result<Container, Run> {
        b.write();
        let id = unique_id("ctr");
        let mut args = vec!["create", "--bundle", b.path().to_str().unwrap_or(".")];
        args.extend_from_slice(extra);
        args.push(&id);
        let r = runtime(&args);
        if !r.ok() {
            let _ = runtime(&["delete", "--force", &id]);
            return Err(r);
        }
        Ok(Container { id, bundle: b })
    }

    pub fn start(&self) -> Run {
        runtime(&["start", &self.id])
    }

    pub fn state(&self) -> Value {
        runtime(&["state", &self.id]).expect_ok().json()
    }

    pub fn status(&self) -> String {
        self.state()["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn pid(&self) -> i32 {
        self.state()["pid"].as_i64().unwrap_or(0) as i32
    }

    pub fn kill(&self, sig: &str) -> Run {
        runtime(&["kill", &self.id, sig])
    }

    pub fn delete(&self) -> Run {
        runtime(&["delete", &self.id])
    }

    /// Wait until the container reaches `status` (at most ~5 s).
    pub fn wait_status(&self, status: &str) -> bool {
        for _ in 0..500 {
            let r = runtime(&["state", &self.id]);
            if r.ok() && r.json()["status"] == status {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = runtime(&["delete", "--force", &self.id]);
    }
}

/// A created container whose stdout and stderr (`create`'s, which its
/// program inherits) go to files kept until the program has run.
pub struct Captured {
    pub container: Container,
    out: PathBuf,
    err: PathBuf,
}

impl Captured {
    /// `create` the bundle, its output captured; panics if create fails.
    pub fn create(b: Bundle) -> Captured {
        b.write();
        let id = unique_id("cap");
        let (out, err) = (
            env().scratch.join(format!("{id}.out")),
            env().scratch.join(format!("{id}.err")),
        );
        let created = rt(&["create", "--bundle", b.path().to_str().unwrap_or("."), &id])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .status()
            .expect("spawn create");
        let container = Container { id, bundle: b };
        assert!(created.success(), "create failed");
        Captured {
            container,
            out,
            err,
        }
    }

    /// Start it, wait until it stops, and return what it wrote (stdout,
    /// stderr).
    pub fn start_to_end(&self) -> (String, String) {
        let _ = self.container.start();
        assert!(self.container.wait_status("stopped"), "never stopped");
        let read = |p: &Path| {
            let s = std::fs::read_to_string(p).unwrap_or_default();
            let _ = std::fs::remove_file(p);
            s
        };
        (read(&self.out), read(&self.err))
    }
}

/// Parse a hex capability mask from the probe ("00000000a80425fb").
pub fn capmask(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap_or("0"), 16).unwrap_or(0)
}

/// Mountinfo lines (from the probe) whose mount point is `mp`.
pub fn mount_lines<'a>(report: &'a Value, mp: &str) -> Vec<&'a str> {
    report["mountinfo"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some(mp))
        .collect()
}

/// Per-mount options (field 6) of the last mount at `mp`.
pub fn mount_opts(report: &Value, mp: &str) -> Vec<String> {
    mount_lines(report, mp)
        .last()
        .and_then(|l| l.split(' ').nth(5))
        .map(|o| o.split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

/// Is `path` any of the host's mount points right now?
pub fn host_has_mount_under(prefix: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|mp| mp.starts_with(prefix)))
}

/// The host cgroup directories (v1 hierarchies and cgroup2) whose name is `id`.
pub fn host_cgroups_named(id: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let p = e.path();
                if p.file_name().is_some_and(|n| n == id) {
                    out.push(p.clone());
                }
                if p.components().count() < 12 {
                    stack.push(p);
                }
            }
        }
    }
    out
}
