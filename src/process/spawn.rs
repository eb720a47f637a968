//! The parent's side of creating an init: gather the descriptors the child
//! needs, clone3 once (into its cgroup on cgroup v2), then drive the child
//! through the expected list of sync messages. Any failure kills and reaps
//! what was started; the caller removes the cgroup and the state dir.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::init::{self, InitFds};
use super::sync::{self, Msg, SyncSocket};
use crate::error::{Error, Result, StepError, SysContext};
use crate::hooks;
use crate::logging;
use crate::namespaces::{self, NsKind};
use crate::proc_files::ProcRoot;
use crate::spec::ContainerPlan;
use crate::sys;

/// A started (not yet released) init.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// The pty master when process.terminal is set.
    pub pty: Option<OwnedFd>,
    pub sync: SyncSocket,
}

impl Spawned {
    /// `run`: release the init by message instead of exec.fifo.
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

/// Clone the init for `plan` and drive it to Ready. `fifo` is the read end of
/// exec.fifo (None for `run`); `state_json(pid)` is the state for hooks.
pub fn spawn(
    plan: &ContainerPlan,
    fifo: Option<OwnedFd>,
    state_json: &dyn Fn(i32) -> String,
) -> Result<Spawned> {
    let min_fd = 3 + plan.preserve_fds as i32;
    let above = |fd: OwnedFd| -> Result<OwnedFd> {
        if fd.as_raw_fd() >= min_fd {
            Ok(fd)
        } else {
            sys::dup_above(fd.as_fd(), min_fd).step(|| "move a descriptor above --preserve-fds")
        }
    };
    let proc = ProcRoot::open().step(|| "open /proc (must be procfs)")?;
    let proc = ProcRoot::try_clone(&proc).step(|| "dup /proc")?;
    let joins = namespaces::open_joins(&plan.namespaces)?
        .into_iter()
        .map(|(k, fd)| Ok((k, above(fd)?)))
        .collect::<Result<Vec<_>>>()?;
    let (parent_sock, child_sock) = sync::pair().step(|| "create sync socket")?;
    let child_sock = SyncSocket::from_fd(above(child_sock.into_fd())?);
    let fifo = fifo.map(above).transpose()?;

    // On pure cgroup v2 the init is born in its cgroup (CLONE_INTO_CGROUP),
    // so its cgroup namespace can be created by the same clone.
    let cgroup_fd = match plan.cgroup.v2_dir().filter(|_| plan.cgroup.unified) {
        Some(d) => Some(
            nix::fcntl::open(
                &d.path,
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .step(|| format!("open cgroup {}", d.path.display()))?,
        ),
        None => None,
    };
    let into_cgroup = cgroup_fd.is_some() && !plan.staged();
    let flags = if plan.staged() {
        0
    } else {
        let skip: &[NsKind] = if into_cgroup { &[] } else { &[NsKind::Cgroup] };
        plan.namespaces.new_flags_except(skip).bits() as u64
    };
    let cg_raw = cgroup_fd
        .as_ref()
        .filter(|_| into_cgroup)
        .map(|f| f.as_raw_fd());

    match sys::clone3(flags, true, cg_raw).step(|| "clone the container init")? {
        sys::Forked::Child => {
            drop(parent_sock);
            let fds = InitFds {
                sync: child_sock,
                fifo,
                proc,
                joins,
            };
            let cgroupns_done = into_cgroup && plan.namespaces.creates(NsKind::Cgroup);
            init::child_main(plan, fds, cgroupns_done)
        }
        sys::Forked::Parent { pid, pidfd } => {
            drop(child_sock);
            drop(joins);
            let pidfd = match pidfd {
                Some(fd) => fd,
                None => {
                    kill_and_reap(pid, None);
                    return Err(Error::Other("clone3 gave no pidfd".into()));
                }
            };
            let mut driver = Driver {
                plan,
                sync: parent_sock,
                proc: &proc,
                pid,
                pidfd,
                intermediate: None,
            };
            match driver.drive(!into_cgroup, state_json) {
                Ok(pty) => Ok(Spawned {
                    pid: driver.pid,
                    pidfd: driver.pidfd,
                    pty,
                    sync: driver.sync,
                }),
                Err(e) => {
                    kill_and_reap(driver.pid, Some(&driver.pidfd));
                    if let Some(p) = driver.intermediate {
                        kill_and_reap(p, None);
                    }
                    Err(e)
                }
            }
        }
    }
}

struct Driver<'a> {
    plan: &'a ContainerPlan,
    sync: SyncSocket,
    proc: &'a ProcRoot,
    /// The init (after a staged spawn, the forked one).
    pid: i32,
    pidfd: OwnedFd,
    /// The first child of a staged spawn, until it is reaped.
    intermediate: Option<i32>,
}

impl Driver<'_> {
    /// Walk the protocol; returns the pty master if there is a terminal.
    fn drive(
        &mut self,
        place: bool,
        state_json: &dyn Fn(i32) -> String,
    ) -> Result<Option<OwnedFd>> {
        let plan = self.plan;
        if plan.staged() {
            if plan.namespaces.creates(NsKind::User) {
                self.expect("RequestIdMap")?;
                self.write_maps()?;
                self.send(Msg::IdMapDone)?;
            }
            let (msg, _) = self.expect("InitPid")?;
            if let Msg::InitPid(init) = msg {
                if init != self.pid {
                    // The first child forked the init and exits: reap it.
                    self.intermediate = Some(self.pid);
                    let status = describe_exit(self.pid);
                    self.intermediate = None;
                    if status != "exit status 0" {
                        return Err(Error::Other(format!("init setup process failed: {status}")));
                    }
                    self.pid = init;
                    self.pidfd = sys::pidfd_open(init).step(|| "pidfd of the init")?;
                }
            }
        } else if plan.id_maps.is_some() {
            self.write_maps()?;
        }
        if place {
            plan.cgroup.place(self.pid)?;
        }
        self.send(Msg::Continue)?;
        if plan.hooks_round_trip() {
            self.expect("MountsDone")?;
            let json = state_json(self.pid);
            hooks::run_phase("prestart", &plan.hooks.prestart, &json).map_err(Error::Hook)?;
            hooks::run_phase("createRuntime", &plan.hooks.create_runtime, &json)
                .map_err(Error::Hook)?;
            self.send(Msg::HooksDone(json))?;
        }
        let pty = if plan.process.terminal {
            let (_, fd) = self.expect("Pty")?;
            Some(fd.ok_or_else(|| Error::Other("sync: Pty message without a descriptor".into()))?)
        } else {
            None
        };
        if let Some(listener) = plan.seccomp.as_ref().and_then(|s| s.listener.as_ref()) {
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

    fn write_maps(&self) -> Result<()> {
        match &self.plan.id_maps {
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
