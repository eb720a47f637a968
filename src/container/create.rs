//! `create` (and the first half of `run`): load and plan the bundle, make the
//! state dir and cgroup, spawn the init and drive it to Ready, save state and
//! the pid file. Anything that fails removes everything made so far.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::Globals;
use crate::error::{Error, Result, SysContext};
use crate::process::spawn::{self, Spawned};
use crate::spec::{self, ContainerPlan, PlanContext};
use crate::state::{State, StateDir, Status};
use crate::{clock, logging, proc_files, tty};

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// rrun returns while the container runs (always for `create`).
    pub detach: bool,
}

/// A container that has reached Ready.
pub struct Created {
    pub plan: ContainerPlan,
    pub state: State,
    pub dir: StateDir,
    pub init: Spawned,
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).step(|| format!("bundle {}", p.display()))
}

fn listen_fds() -> u32 {
    std::env::var("LISTEN_FDS").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Create a container. `with_fifo` false is `run`: it is released by message.
pub fn create(g: &Globals, o: &CreateOptions, with_fifo: bool) -> Result<Created> {
    let bundle = absolute(&o.bundle)?;
    let spec = spec::load_config(&bundle)?;
    let ctx = PlanContext {
        id: o.id.clone(),
        bundle: bundle.clone(),
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        preserve_fds: o.preserve_fds,
        systemd_cgroup: g.systemd_cgroup,
        listen_fds: if with_fifo { 0 } else { listen_fds() },
    };
    crate::state::validate_id(&o.id)?;
    let plan = spec::plan(&spec, &ctx)?;
    if plan.process.terminal && o.console_socket.is_none() && o.detach {
        return Err(Error::Other(
            "cannot allocate tty if runc will detach without setting console socket".into(),
        ));
    }
    if !plan.process.terminal && o.console_socket.is_some() {
        return Err(Error::Other("cannot use console socket if runc will not detach or allocate tty".into()));
    }
    let dir = StateDir::create(&g.root, &o.id)?;
    match build(g, o, plan, dir, &bundle, with_fifo) {
        Ok(c) => Ok(c),
        Err((e, cleanup)) => {
            cleanup.run();
            Err(e)
        }
    }
}

/// What to undo when create fails half-way.
struct Cleanup {
    cgroup: Option<crate::cgroups::Cgroup>,
    dir: Option<StateDir>,
}

impl Cleanup {
    fn run(self) {
        if let Some(cg) = self.cgroup {
            if let Err(e) = cg.destroy() {
                logging::warn(&format!("cleanup: {e}"));
            }
        }
        if let Some(dir) = self.dir {
            let _ = dir.remove();
        }
    }
}

type Failed = (Error, Cleanup);

fn build(
    g: &Globals,
    o: &CreateOptions,
    plan: ContainerPlan,
    dir: StateDir,
    bundle: &Path,
    with_fifo: bool,
) -> std::result::Result<Created, Failed> {
    let mut cleanup = Cleanup {
        cgroup: None,
        dir: None,
    };
    macro_rules! tryc {
        ($e:expr, $c:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return Err((Error::from(e), $c)),
            }
        };
    }
    let copy = std::fs::copy(bundle.join("config.json"), dir.dir.join(crate::state::CONFIG_FILE))
        .step(|| "save config.json");
    cleanup.dir = Some(dir);
    tryc!(copy, cleanup);
    tryc!(plan.cgroup.create(), cleanup);
    cleanup.cgroup = Some(plan.cgroup.clone());
    tryc!(plan.cgroup.apply(&plan.resources), cleanup);
    let dir_ref = cleanup.dir.as_ref().map(|d| d.dir.clone()).unwrap_or_default();
    let fifo = if with_fifo {
        Some(tryc!(make_fifo(&dir_ref.join(crate::state::FIFO_NAME)), cleanup))
    } else {
        None
    };
    let created = clock::now_nanos();
    let owner = String::new();
    let mut state = State {
        oci_version: crate::OCI_VERSION.to_string(),
        id: plan.id.clone(),
        pid: 0,
        pid_start_time: 0,
        bundle: bundle.to_path_buf(),
        rootfs: plan.rootfs.rootfs.clone(),
        created,
        owner,
        annotations: plan.annotations.clone(),
        cgroup: plan.cgroup.clone(),
        poststart: plan.hooks.poststart.clone(),
        poststop: plan.hooks.poststop.clone(),
        pid_ns: plan.namespaces.has(crate::namespaces::NsKind::Pid),
        rootless: g.rootless,
    };
    let hook_state = |pid: i32| {
        let mut s = state.clone();
        s.pid = pid;
        serde_json::to_string(&s.oci(Status::Creating)).unwrap_or_default()
    };
    let init = tryc!(spawn::spawn(&plan, fifo, &hook_state), cleanup);
    let kill_init = |e: Error, c: Cleanup, init: &Spawned| {
        spawn::kill_and_reap(init.pid, Some(&init.pidfd));
        (e, c)
    };
    if let (Some(pty), Some(sock)) = (&init.pty, &o.console_socket) {
        if let Err(e) = tty::send_to_console_socket(sock, pty.as_fd()) {
            return Err(kill_init(e, cleanup, &init));
        }
    }
    state.pid = init.pid;
    state.pid_start_time = proc_files::start_time(init.pid).unwrap_or(0);
    let Some(dir) = cleanup.dir.take() else {
        return Err(kill_init(Error::Other("state directory vanished".into()), cleanup, &init));
    };
    if let Err(e) = dir.save(&state) {
        cleanup.dir = Some(dir);
        return Err(kill_init(e, cleanup, &init));
    }
    if let Some(pf) = &o.pid_file {
        if let Err(e) = write_pid_file(pf, init.pid) {
            cleanup.dir = Some(dir);
            return Err(kill_init(e, cleanup, &init));
        }
    }
    Ok(Created { plan, state, dir, init })
}

/// exec.fifo, opened for reading (non-blocking) before the clone so the init
/// inherits an open read end from its first instant.
fn make_fifo(path: &Path) -> Result<OwnedFd> {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o622)).step(|| format!("mkfifo {}", path.display()))?;
    nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
        .step(|| format!("open {}", path.display()))
}

/// The pid file, written atomically as runc does (tmp file + rename).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}"));
    std::fs::write(&tmp, pid.to_string()).step(|| format!("write pid file {}", path.display()))?;
    std::fs::rename(&tmp, path).step(|| format!("write pid file {}", path.display()))
}
