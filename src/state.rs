//! The state directory of a container under --root: created exclusively,
//! serialised by an flock on the directory, state.json written atomically
//! (tmp + rename) with the init's start time so that a reused pid is never
//! mistaken for the container. Also the container id rules and the status
//! a container is in.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::cgroups::Cgroup;
use crate::error::{Error, Result, SysContext};
use crate::hooks::HookPlan;

pub const DEFAULT_ROOT: &str = "/run/rrun";
pub const STATE_FILE: &str = "state.json";
/// The copy of the bundle's config.json that earlier builds of rrun kept
/// beside state.json (now `State::config`), read by `exec` of the
/// containers they created.
pub const CONFIG_FILE: &str = "config.json";
/// Compiled seccomp programs, under --root (ids starting with ".rrun-" are
/// reserved for rrun's own entries).
pub const SECCOMP_CACHE: &str = ".rrun-seccomp";

/// The compiled seccomp cache of a state root.
pub fn seccomp_cache(root: &Path) -> PathBuf {
    root.join(SECCOMP_CACHE)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// Validate a container id: runc's rule (letters, digits, `_+-.`), not `.`
/// or `..`, at most 1024 bytes.
pub fn validate_id(id: &str) -> Result<()> {
    let invalid = |reason| Error::InvalidId {
        id: id.to_string(),
        reason,
    };
    if id.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if id.len() > 1024 {
        return Err(invalid("is longer than 1024 bytes"));
    }
    if id == "." || id == ".." {
        return Err(invalid("must not be . or .."));
    }
    if id.starts_with(".rrun-") {
        return Err(invalid("ids starting with .rrun- are reserved"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b))
    {
        return Err(invalid("may only contain letters, digits, and _ + - ."));
    }
    Ok(())
}

/// What rrun remembers about a container between commands.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct State {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    /// Start time of the init (field 22 of /proc/<pid>/stat).
    pub pid_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub cgroup: Cgroup,
    #[serde(default)]
    pub poststart: Vec<HookPlan>,
    #[serde(default)]
    pub poststop: Vec<HookPlan>,
    /// The container has its own pid namespace.
    #[serde(default)]
    pub pid_ns: bool,
    #[serde(default)]
    pub rootless: bool,
    /// The bundle's config.json as `create` read it (`exec` takes the
    /// process defaults and namespaces from it): one file less to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Box<serde_json::value::RawValue>>,
}

/// The runtime-spec state document (`rrun state`), in runc's field order.
#[derive(Debug, serde::Serialize)]
pub struct OciState<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: Status,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
    pub owner: &'a str,
}

impl State {
    pub fn oci(&self, status: Status) -> OciState<'_> {
        OciState {
            oci_version: &self.oci_version,
            id: &self.id,
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            annotations: &self.annotations,
            owner: &self.owner,
        }
    }

    /// Is the recorded init still the same, live process?
    pub fn init_alive(&self) -> bool {
        if self.pid <= 0 {
            return false;
        }
        match crate::proc_files::start_time(self.pid) {
            Some(t) if t == self.pid_start_time => !matches!(
                crate::proc_files::process_state(self.pid),
                Some('Z') | Some('X') | None
            ),
            _ => false,
        }
    }
}

/// A state directory, locked (exclusive flock) unless opened for reading.
pub struct StateDir {
    pub dir: PathBuf,
    _lock: Option<Flock<File>>,
}

fn open_lock(dir: &Path) -> Result<Flock<File>> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .step(|| format!("open state directory {}", dir.display()))?;
    Flock::lock(f, FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::sys(format!("lock {}", dir.display()), e))
}

impl StateDir {
    /// Create the directory of a new container; fails if the id is taken.
    pub fn create(root: &Path, id: &str) -> Result<StateDir> {
        validate_id(id)?;
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true).mode(0o711);
        b.create(root)
            .step(|| format!("create root directory {}", root.display()))?;
        let dir = root.join(id);
        match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyExists)
            }
            Err(e) => {
                return Err(Error::io(
                    format!("create state directory {}", dir.display()),
                    e,
                ))
            }
        }
        let lock = open_lock(&dir)?;
        Ok(StateDir {
            dir,
            _lock: Some(lock),
        })
    }

    /// Open an existing container's directory without locking it, for
    /// commands that only read state or signal (identity is checked by the
    /// init's start time, not by the lock).
    pub fn open_shared(root: &Path, id: &str) -> Result<StateDir> {
        validate_id(id)?;
        let dir = root.join(id);
        if !dir.join(STATE_FILE).exists() {
            return Err(Error::NotExist);
        }
        Ok(StateDir { dir, _lock: None })
    }

    /// Give up the lock (a foreground `run` holds it only while creating).
    pub fn unlock(&mut self) {
        self._lock = None;
    }

    /// Open (and lock) an existing container's directory.
    pub fn open(root: &Path, id: &str) -> Result<StateDir> {
        validate_id(id)?;
        let dir = root.join(id);
        if !dir.join(STATE_FILE).exists() {
            return Err(Error::NotExist);
        }
        let lock = open_lock(&dir)?;
        if !dir.join(STATE_FILE).exists() {
            // Deleted while we waited for the lock.
            return Err(Error::NotExist);
        }
        Ok(StateDir {
            dir,
            _lock: Some(lock),
        })
    }

    pub fn start_socket(&self) -> PathBuf {
        self.dir.join(crate::handshake::SOCKET_NAME)
    }

    pub fn load(&self) -> Result<State> {
        load_from(&self.dir)
    }

    pub fn save(&self, state: &State) -> Result<()> {
        let tmp = self.dir.join(".state.json.tmp");
        let data =
            serde_json::to_vec(state).map_err(|e| Error::Other(format!("encode state: {e}")))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .step(|| format!("write {}", tmp.display()))?;
        f.write_all(&data)
            .step(|| format!("write {}", tmp.display()))?;
        std::fs::rename(&tmp, self.dir.join(STATE_FILE)).step(|| "save state.json")?;
        Ok(())
    }

    /// Remove the directory and everything in it.
    pub fn remove(self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("remove {}", self.dir.display()), e)),
        }
    }
}

/// Read a container's state without locking (state.json is replaced atomically).
pub fn load_from(dir: &Path) -> Result<State> {
    let path = dir.join(STATE_FILE);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotExist),
        Err(e) => return Err(Error::io(format!("read {}", path.display()), e)),
    };
    serde_json::from_slice(&data)
        .map_err(|e| Error::Other(format!("decode {}: {e}", path.display())))
}

/// The status of a container whose state directory is `dir`.
pub fn status_of(dir: &Path, state: &State) -> Status {
    if !state.init_alive() {
        return Status::Stopped;
    }
    if dir.join(crate::handshake::SOCKET_NAME).exists() {
        return Status::Created;
    }
    if state.cgroup.is_frozen() {
        return Status::Paused;
    }
    Status::Running
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_3+x").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "../x", &"x".repeat(1025)] {
            assert!(validate_id(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn create_is_exclusive_and_state_round_trips() {
        let root = std::env::temp_dir().join(format!("rrun-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = StateDir::create(&root, "c1").expect("create");
        assert!(matches!(
            StateDir::create(&root, "c1"),
            Err(Error::AlreadyExists)
        ));
        let st = State {
            oci_version: "1.3.0".into(),
            id: "c1".into(),
            pid: std::process::id() as i32,
            pid_start_time: crate::proc_files::start_time(std::process::id() as i32).unwrap_or(0),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: crate::clock::now_nanos(),
            owner: String::new(),
            annotations: BTreeMap::new(),
            cgroup: Cgroup::default(),
            poststart: vec![],
            poststop: vec![],
            pid_ns: true,
            rootless: false,
            config: serde_json::value::RawValue::from_string(
                "{\n \"ociVersion\": \"1.3.0\",\n \"process\": {\"args\": [\"sh\"]}\n}".into(),
            )
            .ok(),
        };
        dir.save(&st).expect("save");
        let back = load_from(&dir.dir).expect("load");
        assert_eq!(back.id, "c1");
        // The config travels verbatim, spacing included.
        assert_eq!(
            back.config.as_ref().map(|c| c.get()),
            st.config.as_ref().map(|c| c.get())
        );
        assert!(back.init_alive());
        assert_eq!(status_of(&dir.dir, &back), Status::Running);
        let mut dead = back.clone();
        dead.pid_start_time += 1;
        assert_eq!(
            status_of(&dir.dir, &dead),
            Status::Stopped,
            "pid reuse must read as stopped"
        );
        dir.remove().expect("remove");
        let _ = std::fs::remove_dir_all(&root);
    }
}
