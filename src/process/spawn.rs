//! The parent's side of creating an init: gather the descriptors the child
//! needs, clone3 once (into its cgroup on cgroup v2), then drive the child
//! through the expected list of sync messages. Any failure kills and reaps
//! what was started; the caller removes the cgroup and the state dir.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::init::{self, InitFds};
use super::sync::{self, Msg, SyncSocket};
use super::Handover;
use crate::cgroups::{self, join::TasksFile};
use crate::error::{Error, Result, StepError, SysContext};
use crate::hooks;
use crate::hooks::HooksPlan;
use crate::logging;
use crate::namespaces::{self, NsKind};
use crate::proc_files::ProcRoot;
use crate::rootfs::options::MountPlan;
use crate::seccomp::notify::Listener;
use crate::spec::ContainerPlan;
use crate::sys;
use crate::userns::IdMaps;

/// A started (not yet released) init.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// The pty master when process.terminal is set.
    pub pty: Option<OwnedFd>,
    pub sync: SyncSocket,
}

impl Spawned {
    /// `run`: wait until the program runs (end of file on the sync socket:
    /// the init's end is close-on-exec), or its startContainer hooks failed
    /// (an Error message).
    pub fn wait_exec(&self) -> Result<()> {
        loop {
            match self.sync.recv().step(|| "wait for the container process")? {
                None => return Ok(()),
                Some((Msg::Error(_, text), _)) => return Err(Error::Hook(text)),
                Some((Msg::Log(_, text), _)) => logging::debug(&text),
                Some(_) => {}
            }
        }
    }

    /// `run`: release the init by message instead of exec.sock.
    pub fn release(&self) -> Result<()> {
        self.sync
            .send(&Msg::Start)
            .step(|| "release the container process")
    }
}

/// Kill and reap a child we started (failure path).
pub fn kill_and_reap(pid: i32, pidfd: Option<&OwnedFd>) {
    match pidfd {
        Some(fd) => {
            let _ = sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
        }
        None => {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
    let _ = waitpid(Pid::from_raw(pid), None);
}

fn describe_exit(pid: i32) -> String {
    match waitpid(Pid::from_raw(pid), None) {
        Ok(WaitStatus::Exited(_, code)) => format!("exit status {code}"),
        Ok(WaitStatus::Signaled(_, sig, _)) => {
            format!("killed by {}", crate::signals::name(sig as i32))
        }
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("wait: {}", crate::error::Cause(e)),
    }
}

/// What the parent expects from a child it starts, from the plan.
pub struct Expect<'a> {
    /// Staged spawn: the child reports the pid of the process it forks.
    pub staged: bool,
    /// A new user namespace whose maps the parent writes.
    pub id_maps: Option<&'a IdMaps>,
    /// The child asks for its maps (staged spawn with a new user namespace).
    pub maps_on_request: bool,
    /// Put the child into its cgroups (None when clone3 already did).
    pub place: Option<&'a dyn Fn(i32) -> Result<()>>,
    /// Hooks around the mounts (prestart, createRuntime in the parent).
    pub hooks: Option<&'a HooksPlan>,
    pub terminal: bool,
    pub listener: Option<&'a Listener>,
}

/// How to clone.
pub struct CloneOpts {
    pub flags: u64,
    /// The cgroup2 directory to start the child in (CLONE_INTO_CGROUP).
    pub cgroup_fd: Option<RawFd>,
    /// If the kernel refuses `cgroup_fd`, clone without it (the best-effort
    /// cgroup2 part of a hybrid host).
    pub cgroup_optional: bool,
    /// Descriptors the child keeps must sit at or above this number
    /// (3 + --preserve-fds), so that they never shadow a preserved one.
    pub min_fd: i32,
}

/// Move a descriptor to at least `min` (close-on-exec).
pub fn above(fd: OwnedFd, min: i32) -> Result<OwnedFd> {
    if fd.as_raw_fd() >= min {
        Ok(fd)
    } else {
        sys::dup_above(fd.as_fd(), min).step(|| "move a descriptor above --preserve-fds")
    }
}

/// Each v1 `tasks` file the child joins by itself, above --preserve-fds.
pub fn above_all(tasks: Vec<TasksFile>, min_fd: i32) -> Result<Vec<TasksFile>> {
    tasks
        .into_iter()
        .map(|t| {
            Ok(TasksFile {
                fd: above(t.fd, min_fd)?,
                ..t
            })
        })
        .collect()
}

/// clone3, run `child` in the child (it ends in execve or _exit), and drive the child
/// through `expect` in the parent. On failure the child is killed and reaped.
pub fn clone_and_drive<F>(
    opts: CloneOpts,
    child: F,
    expect: &Expect<'_>,
    proc: &ProcRoot,
    state_json: &dyn Fn(i32) -> String,
) -> Result<Spawned>
where
    F: FnOnce(SyncSocket),
{
    let (parent_sock, child_sock) = sync::pair().step(|| "create sync socket")?;
    let child_sock = SyncSocket::from_fd(above(child_sock.into_fd(), opts.min_fd)?);
    let forked = match sys::clone3(opts.flags, true, opts.cgroup_fd) {
        Err(_) if opts.cgroup_optional => sys::clone3(opts.flags, true, None),
        forked => forked,
    };
    match forked.step(|| "clone the container process")? {
        sys::Forked::Child => {
            drop(parent_sock);
            // The child function ends in execve or _exit; never come back.
            child(child_sock);
            sys::exit_now(1)
        }
        sys::Forked::Parent { pid, pidfd } => {
            drop(child_sock);
            drop(child);
            let pidfd = match pidfd {
                Some(fd) => fd,
                None => {
                    kill_and_reap(pid, None);
                    return Err(Error::Other("clone3 gave no pidfd".into()));
                }
            };
            let mut driver = Driver {
                sync: parent_sock,
                proc,
                pid,
                pidfd,
            };
            match driver.drive(expect, state_json) {
                Ok(pty) => Ok(Spawned {
                    pid: driver.pid,
                    pidfd: driver.pidfd,
                    pty,
                    sync: driver.sync,
                }),
                Err(e) => {
                    kill_and_reap(driver.pid, Some(&driver.pidfd));
                    Err(e)
                }
            }
        }
    }
}

/// Clone the init for `plan` and drive it to Ready. `start_socket` is the
/// listening exec.sock (None for `run`); `handover` how the init hands
/// over to the program (process/mod.rs); `state_json(pid)` is the state
/// for hooks.
pub fn spawn(
    plan: &ContainerPlan,
    start_socket: Option<OwnedFd>,
    handover: Handover,
    state_json: &dyn Fn(i32) -> String,
) -> Result<Spawned> {
    let min_fd = 3 + plan.preserve_fds as i32;
    let proc = ProcRoot::open().step(|| "open /proc (must be procfs)")?;
    let child_proc = ProcRoot::try_clone(&proc).step(|| "dup /proc")?;
    let joins = namespaces::open_joins(&plan.namespaces)?
        .into_iter()
        .map(|(k, fd)| Ok((k, above(fd, min_fd)?)))
        .collect::<Result<Vec<_>>>()?;
    let start_socket = start_socket.map(|f| above(f, min_fd)).transpose()?;
    let handover = match handover {
        Handover::Trampoline { fd, immediate } => Handover::Trampoline {
            fd: above(fd, min_fd)?,
            immediate,
        },
        Handover::WaitInRrun => Handover::WaitInRrun,
    };
    let idmaps = idmap_userns(plan, &proc)?
        .into_iter()
        .map(|(i, fd)| Ok((i, above(fd, min_fd)?)))
        .collect::<Result<Vec<_>>>()?;

    // The init joins its cgroups without the kernel's global lock where it
    // can (cgroups/join.rs); the clone's own new user namespace leaves the
    // v1 placement to us.
    let self_attach = plan.staged() || !plan.namespaces.creates(NsKind::User);
    let joining = cgroups::join::plan(&plan.cgroup, self_attach)?;
    let tasks = above_all(joining.tasks, min_fd)?;
    // On pure cgroup v2, born in its cgroup, the init's cgroup namespace can
    // be created by the same clone.
    let cgroupns_in_clone = plan.cgroup.unified
        && !plan.staged()
        && joining.born_in.is_some()
        && joining.by_parent.dirs.is_empty();
    let flags = if plan.staged() {
        0
    } else {
        let skip: &[NsKind] = if cgroupns_in_clone {
            &[]
        } else {
            &[NsKind::Cgroup]
        };
        plan.namespaces.new_flags_except(skip).bits() as u64
    };
    let opts = CloneOpts {
        flags,
        cgroup_fd: joining.born_in.as_ref().map(|f| f.as_raw_fd()),
        cgroup_optional: joining.born_in_optional,
        min_fd,
    };
    let by_parent = joining.by_parent;
    let place = |pid: i32| -> Result<()> {
        by_parent.place(pid)?;
        crate::netdev::move_all(&plan.net_devices, pid)
    };
    let expect = Expect {
        staged: plan.staged(),
        id_maps: plan.id_maps.as_ref(),
        maps_on_request: plan.staged() && plan.namespaces.creates(NsKind::User),
        place: Some(&place as &dyn Fn(i32) -> Result<()>),
        hooks: plan.hooks_round_trip().then_some(&plan.hooks),
        terminal: plan.process.terminal,
        listener: plan.seccomp.as_ref().and_then(|s| s.listener.as_ref()),
    };
    let cgroupns_done = cgroupns_in_clone && plan.namespaces.creates(NsKind::Cgroup);
    let child = move |sync: SyncSocket| {
        let fds = InitFds {
            sync,
            start_socket,
            proc: child_proc,
            joins,
            idmaps,
            tasks,
            handover,
        };
        init::child_main(plan, fds, cgroupns_done)
    };
    clone_and_drive(opts, child, &expect, &proc, state_json)
}

/// Each idmapped mount, built detached here in the host's user namespace
/// (the init could not: only the filesystem's user namespace may idmap it)
/// with a user namespace of its own maps, or of the container's (a
/// namespace with the same maps, or the one joined by path).
fn idmap_userns(plan: &ContainerPlan, proc: &ProcRoot) -> Result<Vec<(usize, OwnedFd)>> {
    let mut out: Vec<(usize, OwnedFd)> = Vec::new();
    // One user namespace per distinct set of maps (or the joined one).
    let mut userns: Vec<(String, OwnedFd)> = Vec::new();
    for m in plan.rootfs.mounts.iter().filter(|m| m.idmap.is_some()) {
        let key = match (&m.id_maps, &plan.id_maps) {
            (Some(maps), _) | (None, Some(maps)) => format!("{}|{}", maps.uid_map, maps.gid_map),
            (None, None) => String::new(),
        };
        let i = match userns.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                userns.push((key, idmap_userns_fd(plan, m, proc)?));
                userns.len() - 1
            }
        };
        let tree = crate::rootfs::idmapped_tree(m, userns[i].1.as_fd())
            .map_err(|e| Error::Init(e.to_string()))?;
        out.push((m.index, tree));
    }
    Ok(out)
}

/// The user namespace mount `m` is idmapped with: one of its own maps, of
/// the container's maps, or the one the container joins.
fn idmap_userns_fd(plan: &ContainerPlan, m: &MountPlan, proc: &ProcRoot) -> Result<OwnedFd> {
    if let Some(maps) = m.id_maps.as_ref().or(plan.id_maps.as_ref()) {
        return crate::userns::userns_fd(maps, proc);
    }
    match plan
        .namespaces
        .join
        .iter()
        .find(|(k, _)| *k == NsKind::User)
    {
        Some((_, path)) => {
            nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                .step(|| format!("open user namespace {}", path.display()))
        }
        None => Err(Error::Other(format!(
            "{}: an idmapped mount needs mappings or a user namespace",
            m.describe()
        ))),
    }
}

struct Driver<'a> {
    sync: SyncSocket,
    proc: &'a ProcRoot,
    /// The child (after a staged spawn, the process it forked).
    pid: i32,
    pidfd: OwnedFd,
}

impl Driver<'_> {
    /// Walk the protocol; returns the pty master if there is a terminal.
    fn drive(
        &mut self,
        ex: &Expect<'_>,
        state_json: &dyn Fn(i32) -> String,
    ) -> Result<Option<OwnedFd>> {
        if ex.maps_on_request {
            self.expect("RequestIdMap")?;
            self.write_maps(ex)?;
            self.send(Msg::IdMapDone)?;
        } else if ex.id_maps.is_some() {
            self.write_maps(ex)?;
        }
        if ex.staged {
            let (msg, _) = self.expect("InitPid")?;
            if let Msg::InitPid(child) = msg {
                if child != self.pid {
                    // The first child forked the real one and exits: reap it.
                    let status = describe_exit(self.pid);
                    if status != "exit status 0" {
                        kill_and_reap(child, None);
                        return Err(Error::Other(format!("setup process failed: {status}")));
                    }
                    self.pid = child;
                    self.pidfd =
                        sys::pidfd_open(child).step(|| "pidfd of the container process")?;
                }
            }
        }
        if let Some(place) = ex.place {
            place(self.pid)?;
        }
        self.send(Msg::Continue)?;
        if let Some(h) = ex.hooks {
            self.expect("MountsDone")?;
            let json = state_json(self.pid);
            hooks::run_phase("prestart", &h.prestart, &json).map_err(Error::Hook)?;
            hooks::run_phase("createRuntime", &h.create_runtime, &json).map_err(Error::Hook)?;
            self.send(Msg::HooksDone(json))?;
        }
        let pty = if ex.terminal {
            let (_, fd) = self.expect("Pty")?;
            Some(fd.ok_or_else(|| Error::Other("sync: Pty message without a descriptor".into()))?)
        } else {
            None
        };
        if let Some(listener) = ex.listener {
            let (_, fd) = self.expect("SeccompFd")?;
            let fd =
                fd.ok_or_else(|| Error::Other("sync: SeccompFd without a descriptor".into()))?;
            let state: serde_json::Value =
                serde_json::from_str(&state_json(self.pid)).unwrap_or_default();
            listener.send(fd.as_fd(), self.pid, state)?;
        }
        self.expect("Ready")?;
        Ok(pty)
    }

    fn write_maps(&self, ex: &Expect<'_>) -> Result<()> {
        match ex.id_maps {
            Some(maps) => maps.write(self.proc, self.pid),
            None => Ok(()),
        }
    }

    fn send(&self, msg: Msg) -> Result<()> {
        let name = msg.name();
        self.sync.send(&msg).step(|| format!("sync: send {name}"))
    }

    /// Receive until the expected message; Log is logged, Error ends it,
    /// anything else is a protocol error.
    fn expect(&self, want: &str) -> Result<(Msg, Option<OwnedFd>)> {
        loop {
            match self.sync.recv().step(|| format!("sync: wait for {want}"))? {
                None => {
                    let how = describe_exit(self.pid);
                    return Err(Error::Other(format!(
                        "container init exited before {want}: {how}"
                    )));
                }
                Some((Msg::Log(level, text), _)) => {
                    let level = if level >= 3 {
                        logging::Level::Error
                    } else {
                        logging::Level::Debug
                    };
                    logging::log(level, &text);
                }
                Some((Msg::Error(errno, text), _)) => {
                    let errno = nix::errno::Errno::from_raw(errno);
                    let e = if errno as i32 == 0 {
                        StepError::msg(text)
                    } else {
                        StepError::new(text, errno)
                    };
                    return Err(Error::Init(e.to_string()));
                }
                Some((msg, fd)) if msg.name() == want => return Ok((msg, fd)),
                Some((msg, _)) => {
                    return Err(Error::Other(format!(
                        "sync: expected {want}, got {}",
                        msg.name()
                    )));
                }
            }
        }
    }
}
