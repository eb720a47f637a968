//! `exec`: a new process in a running container. The first child joins every
//! namespace of the container by descriptor (user first, mount last; the
//! descriptors were opened by the parent from the init's /proc/<pid>/ns
//! after checking the init's identity), then forks once with CLONE_PARENT so
//! that the new process is really inside the pid namespace. It is in the
//! container's cgroups from the start (cgroups/join.rs: born in the cgroup2
//! directory, v1 joined by the first child before anything else); it then takes the container's
//! confinement (rlimits, no_new_privs, seccomp, capabilities, ids, LSM label)
//! and executes the program.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::fcntl::OFlag;

use super::finish;
use super::plan::ProcessPlan;
use super::spawn::{self, CloneOpts, Expect, Spawned};
use super::sync::{Msg, SyncSocket};
use crate::cgroups::join::{self, Joining, TasksFile};
use crate::error::{AtStep, Result, StepError, SysContext};
use crate::namespaces::{self, NsKind};
use crate::proc_files::ProcRoot;
use crate::rootfs::resolve;
use crate::seccomp::SeccompPlan;
use crate::sys;

/// Everything the exec'd process needs, lowered before the clone.
#[derive(Debug, Clone)]
pub struct ExecPlan {
    pub process: ProcessPlan,
    pub seccomp: Option<SeccompPlan>,
    pub personality: Option<libc::c_ulong>,
    pub preserve_fds: u32,
}

struct ExecFds {
    sync: SyncSocket,
    proc: ProcRoot,
    joins: Vec<(NsKind, OwnedFd)>,
}

/// Start the process; returns it after Ready (released with `Spawned::release`).
pub fn spawn(
    plan: &ExecPlan,
    joins: Vec<(NsKind, OwnedFd)>,
    joining: Joining,
    state_json: &dyn Fn(i32) -> String,
) -> Result<Spawned> {
    let min_fd = 3 + plan.preserve_fds as i32;
    let proc = ProcRoot::open().step(|| "open /proc (must be procfs)")?;
    let child_proc = proc.try_clone().step(|| "dup /proc")?;
    let joins = joins
        .into_iter()
        .map(|(k, fd)| Ok((k, spawn::above(fd, min_fd)?)))
        .collect::<Result<Vec<_>>>()?;
    let tasks = spawn::above_all(joining.tasks, min_fd)?;
    let by_parent = joining.by_parent;
    let place = |pid: i32| -> Result<()> { Ok(by_parent.place(pid)?) };
    let expect = Expect {
        staged: true,
        id_maps: None,
        maps_on_request: false,
        place: Some(&place),
        hooks: None,
        terminal: plan.process.terminal,
        listener: plan.seccomp.as_ref().and_then(|s| s.listener.as_ref()),
    };
    let opts = CloneOpts {
        flags: 0,
        cgroup_fd: joining.born_in.as_ref().map(|f| f.as_raw_fd()),
        cgroup_optional: joining.born_in_optional,
        min_fd,
    };
    let child = move |sync: SyncSocket| {
        let fds = ExecFds {
            sync,
            proc: child_proc,
            joins,
        };
        child_main(plan, tasks, fds)
    };
    spawn::clone_and_drive(opts, child, &expect, &proc, state_json)
}

fn child_main(plan: &ExecPlan, tasks: Vec<TasksFile>, fds: ExecFds) -> ! {
    // Into the cgroups first, still with the host's credentials; the
    // process forked into the pid namespace inherits them.
    match join::join_all(tasks).and_then(|()| recipe(plan, &fds)) {
        Ok(never) => match never {},
        Err(e) => finish::fail(&fds.sync, e),
    }
}

fn recipe(
    plan: &ExecPlan,
    fds: &ExecFds,
) -> std::result::Result<std::convert::Infallible, StepError> {
    let p = &plan.process;
    sys::set_parent_death_signal(libc::SIGKILL).at(|| "set parent death signal")?;
    // Non-dumpable until execve: container processes cannot open our
    // /proc/<pid>/exe or memory (CVE-2019-5736 class).
    sys::set_dumpable(false).at(|| "set non-dumpable")?;
    if let Some(cpus) = &p.cpu_affinity_initial {
        sys::sched_setaffinity_self(cpus).at(|| "set the initial CPU affinity")?;
    }
    // Every namespace of the container, user first, mount last.
    for (kind, fd) in &fds.joins {
        namespaces::enter(*kind, fd)
            .at(|| format!("join the container's {} namespace", kind.spec_name()))?;
    }
    // setns(pid) applies to children: fork into the pid namespace.
    match sys::clone3(libc::CLONE_PARENT as u64, false, None).at(|| "fork into the container")? {
        sys::Forked::Child => {}
        sys::Forked::Parent { pid, .. } => {
            let _ = fds.sync.send(&Msg::InitPid(pid));
            sys::exit_now(0)
        }
    }
    sys::set_parent_death_signal(libc::SIGKILL).at(|| "set parent death signal")?;
    // Attack tests hold here: inside the container's pid namespace, still rrun.
    crate::testpoint::pause("exec-entered");
    finish::wait_for(&fds.sync, "Continue")?;
    if let Some(cpus) = &p.cpu_affinity_final {
        sys::sched_setaffinity_self(cpus).at(|| "set the final CPU affinity")?;
    }
    nix::unistd::setsid().at(|| "setsid")?;
    if p.terminal {
        terminal(&fds.sync, p.console_size)?;
    }
    if let Some(adj) = p.oom_score_adj {
        fds.proc
            .write("self/oom_score_adj", adj.to_string().as_bytes())
            .at(|| format!("set oom_score_adj to {adj}"))?;
    }
    if let Some(persona) = plan.personality {
        sys::personality(persona).at(|| "set personality")?;
    }
    if let Some(s) = &p.scheduler {
        sys::sched_setattr_self(s).at(|| "set scheduler")?;
    }
    if let Some(prio) = p.io_priority {
        sys::ioprio_set_self(prio).at(|| "set I/O priority")?;
    }
    let program = finish::confine(p, plan.seccomp.as_ref(), &fds.sync, &fds.proc)?;
    sys::set_parent_death_signal(0).at(|| "clear parent death signal")?;
    fds.sync.send(&Msg::Ready).at(|| "sync Ready")?;
    finish::wait_for(&fds.sync, "Start")?;
    finish::exec_program(p, plan.preserve_fds, &program)
}

/// A pty from the container's devpts for the exec'd process (no
/// /dev/console: that belongs to the init).
fn terminal(sync: &SyncSocket, size: Option<(u16, u16)>) -> std::result::Result<(), StepError> {
    let root = crate::rootfs::open_root().at(|| "open /")?;
    let master = resolve::open_in_root(
        root.as_fd(),
        std::path::Path::new("/dev/ptmx"),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
    )
    .at(|| "open /dev/ptmx")?;
    super::console::make_stdio(master, sync, size)
}
