//! The container's init, from the clone to execve: one recipe, top to
//! bottom, each step a single call into the module that owns it. The comment
//! on each step says why it sits where it does. The child never writes to the
//! caller's stderr before it is released: errors go over the sync socket.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{setresgid, setresuid, Gid, Uid};

use super::finish;
use super::sync::{Msg, SyncSocket};
use super::trampoline::{self, StartBy};
use super::Handover;
use crate::cgroups::join::{self, TasksFile};
use crate::error::{AtStep, StepError};
use crate::namespaces::{self, NsKind};
use crate::proc_files::ProcRoot;
use crate::rootfs;
use crate::spec::ContainerPlan;
use crate::sys;
use crate::{handshake, hooks};

/// Descriptors the init inherits from rrun (all close-on-exec).
pub struct InitFds {
    pub sync: SyncSocket,
    /// The listening exec.sock (None for `run`, which releases by message).
    pub start_socket: Option<OwnedFd>,
    pub proc: ProcRoot,
    pub joins: Vec<(NsKind, OwnedFd)>,
    /// Idmapped mounts built by the parent, detached, by mount index.
    pub idmaps: Vec<(usize, OwnedFd)>,
    /// The v1 cgroups we join ourselves, first of all (cgroups/join.rs).
    pub tasks: Vec<TasksFile>,
    /// How it hands over to the program (the start trampoline's
    /// descriptor, when it becomes the trampoline: trampoline.rs).
    pub handover: Handover,
}

/// Entry point in the child after clone3: never returns.
pub fn child_main(plan: &ContainerPlan, mut fds: InitFds, cgroupns_done: bool) -> ! {
    let tasks = std::mem::take(&mut fds.tasks);
    match join::join_all(tasks).and_then(|()| recipe(plan, &fds, cgroupns_done)) {
        Ok(never) => match never {},
        Err(e) => finish::fail(&fds.sync, e),
    }
}

fn recipe(
    plan: &ContainerPlan,
    fds: &InitFds,
    cgroupns_done: bool,
) -> Result<Infallible, StepError> {
    let p = &plan.process;
    // If rrun dies while we set up, so do we (reset before Ready: the init
    // must outlive `create`).
    sys::set_parent_death_signal(libc::SIGKILL).at(|| "set parent death signal")?;
    // Not dumpable until execve: no container process can open our
    // /proc/<pid>/exe (the rrun binary) or our memory (CVE-2019-5736 class).
    // In a new user namespace only once the parent has written our id maps:
    // the /proc files of a non-dumpable task belong to root, which a
    // rootless parent is not (no container code runs before that).
    let new_userns = plan.namespaces.creates(NsKind::User);
    if !new_userns {
        sys::set_dumpable(false).at(|| "set non-dumpable")?;
    }
    // Exact modes for device nodes and mount targets; the process umask is
    // set just before execve.
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());

    // Joined namespaces, and the namespaces that need a fork to take effect.
    if plan.staged() {
        enter_staged(plan, fds)?;
    }
    // The parent has put us into our cgroups and written our id maps.
    finish::wait_for(&fds.sync, "Continue")?;
    if new_userns {
        sys::set_dumpable(false).at(|| "set non-dumpable")?;
    }
    if plan.namespaces.has(NsKind::User) {
        become_root_in_userns()?;
    }
    // After the cgroup placement, so that the namespace's root is our cgroup.
    if plan.namespaces.creates(NsKind::Cgroup) && !cgroupns_done {
        unshare(CloneFlags::CLONE_NEWCGROUP).at(|| "unshare cgroup namespace")?;
    }
    // The init leads its own session (and may take a controlling terminal).
    nix::unistd::setsid().at(|| "setsid")?;
    set_names(plan)?;

    // Mounts, /dev and devices, in the new mount namespace, before pivot.
    let prepared = rootfs::prepare(&plan.rootfs, &fds.idmaps)?;
    let root = prepared.root;
    // A missing cwd is created (resolved in the root: a magic link such as
    // /proc/self/fd/N is refused here already).
    if !crate::testpoint::disabled("cwd-check") {
        rootfs::ensure_dir(root.as_fd(), &p.cwd)?;
    }
    // Namespaced sysctls through the host's verified procfs: the values
    // written are those of the writer's namespaces, which are ours now.
    for (key, value) in &plan.sysctls {
        fds.proc
            .write(&format!("sys/{key}"), value.as_bytes())
            .at(|| format!("write sysctl {}", key.replace('/', ".")))?;
    }
    if let Some(adj) = p.oom_score_adj {
        fds.proc
            .write("self/oom_score_adj", adj.to_string().as_bytes())
            .at(|| format!("set oom_score_adj to {adj}"))?;
    }

    // prestart and createRuntime hooks run in the parent now.
    let state_json = if plan.hooks_round_trip() {
        fds.sync.send(&Msg::MountsDone).at(|| "sync MountsDone")?;
        match finish::recv(&fds.sync)? {
            Msg::HooksDone(json) => json,
            other => {
                return Err(StepError::msg(format!(
                    "sync: expected HooksDone, got {}",
                    other.name()
                )))
            }
        }
    } else {
        String::new()
    };
    // createContainer hooks: in the container's namespaces, before pivot_root.
    hooks::run_phase(
        "createContainer",
        &plan.hooks.create_container,
        &container_state(&state_json, "creating"),
    )
    .map_err(StepError::msg)?;

    if plan.rootfs.no_pivot {
        rootfs::pivot::move_root(&root)?;
    } else {
        rootfs::pivot::pivot(&root)?;
    }
    drop(root);
    if plan.rootfs.propagation_set {
        rootfs::pivot::set_root_propagation(plan.rootfs.propagation)?;
    }
    let root = rootfs::open_root().at(|| "open / after pivot_root")?;
    if p.terminal {
        super::console::setup(root.as_fd(), &fds.sync, p.console_size)?;
    }
    // Read-only root, then read-only paths, then masks (runc's order).
    rootfs::finalize(&plan.rootfs, root.as_fd(), prepared.null_tree)?;
    drop(root);

    if !plan.no_new_keyring {
        let name = CString::new(format!("_ses.{}", plan.id))
            .map_err(|_| StepError::msg("keyring name"))?;
        // Kernels or seccomp profiles without keyctl are not an error (runc).
        match sys::join_session_keyring(&name) {
            Ok(()) | Err(Errno::ENOSYS) | Err(Errno::EPERM) => {}
            Err(e) => return Err(StepError::new("join session keyring", e)),
        }
    }
    apply_process_attributes(plan)?;
    let program = finish::confine(p, plan.seccomp.as_ref(), &fds.sync, &fds.proc)?;

    sys::set_parent_death_signal(0).at(|| "clear parent death signal")?;
    if let Handover::Trampoline { fd, immediate } = &fds.handover {
        let start = match &fds.start_socket {
            _ if *immediate => StartBy::Now,
            Some(listener) => StartBy::Socket(listener),
            None => StartBy::Message,
        };
        let e = trampoline::exec(fd.as_fd(), p, plan.preserve_fds, &program, &fds.sync, start);
        return Err(e);
    }
    fds.sync.send(&Msg::Ready).at(|| "sync Ready")?;
    // Wait for start; then the startContainer hooks, in the container, after
    // start and before the program. Their state shows our pid as the
    // container sees it.
    let started = container_state(&state_json, "created");
    // `start`'s connection stays open until execve closes it.
    let mut _until_exec = None;
    match &fds.start_socket {
        Some(listener) => {
            let mut conn = handshake::wait_for_start(listener)?;
            match hooks::run_phase("startContainer", &plan.hooks.start_container, &started) {
                // The connection is close-on-exec: `start` sees it end when
                // the program runs.
                Ok(()) => handshake::answer_ok(&mut conn),
                Err(e) => {
                    handshake::answer_failed(&mut conn, &e);
                    sys::exit_now(1);
                }
            }
            _until_exec = Some(conn);
        }
        None => {
            finish::wait_for(&fds.sync, "Start")?;
            if let Err(e) =
                hooks::run_phase("startContainer", &plan.hooks.start_container, &started)
            {
                return Err(StepError::msg(e));
            }
        }
    }
    finish::exec_program(p, plan.preserve_fds, &program)
}

/// Join namespaces by descriptor (user first, mount last), create the new
/// user namespace and have its maps written, unshare the rest, set time
/// offsets, and fork when pid or time namespaces need it.
fn enter_staged(plan: &ContainerPlan, fds: &InitFds) -> Result<(), StepError> {
    let ns = &plan.namespaces;
    for (kind, fd) in &fds.joins {
        namespaces::enter(*kind, fd).at(|| format!("join {} namespace", kind.spec_name()))?;
    }
    if ns.creates(NsKind::User) {
        unshare(CloneFlags::CLONE_NEWUSER).at(|| "unshare user namespace")?;
        fds.sync
            .send(&Msg::RequestIdMap)
            .at(|| "sync RequestIdMap")?;
        finish::wait_for(&fds.sync, "IdMapDone")?;
        sys::set_dumpable(false).at(|| "set non-dumpable")?;
    }
    let rest = ns.new_flags_except(&[NsKind::User, NsKind::Cgroup]);
    unshare(rest).at(|| "unshare namespaces")?;
    for (clock, secs, nanos) in &plan.time_offsets {
        fds.proc
            .write(
                "self/timens_offsets",
                format!("{clock} {secs} {nanos}").as_bytes(),
            )
            .at(|| format!("set {clock} time offset"))?;
    }
    let fork = ns.creates(NsKind::Pid) || ns.joins(NsKind::Pid) || ns.creates(NsKind::Time);
    if !fork {
        return fds
            .sync
            .send(&Msg::InitPid(std::process::id() as i32))
            .at(|| "sync InitPid");
    }
    match sys::clone3(libc::CLONE_PARENT as u64, false, None).at(|| "fork the init")? {
        sys::Forked::Child => Ok(()),
        sys::Forked::Parent { pid, .. } => {
            let _ = fds.sync.send(&Msg::InitPid(pid));
            sys::exit_now(0)
        }
    }
}

/// In a user namespace, become its root so that we hold its capabilities
/// with ids that map (a range without 0 keeps the overflow ids).
fn become_root_in_userns() -> Result<(), StepError> {
    match setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0)) {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(e) => return Err(StepError::new("setresgid(0) in the user namespace", e)),
    }
    match setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)) {
        Ok(()) | Err(Errno::EINVAL) => Ok(()),
        Err(e) => Err(StepError::new("setresuid(0) in the user namespace", e)),
    }
}

fn set_names(plan: &ContainerPlan) -> Result<(), StepError> {
    if let Some(h) = &plan.hostname {
        nix::unistd::sethostname(h).at(|| format!("set hostname {h:?}"))?;
    }
    if let Some(d) = &plan.domainname {
        sys::setdomainname(d.as_bytes()).at(|| format!("set domainname {d:?}"))?;
    }
    Ok(())
}

fn apply_process_attributes(plan: &ContainerPlan) -> Result<(), StepError> {
    let p = &plan.process;
    if let Some(persona) = plan.personality {
        sys::personality(persona).at(|| "set personality")?;
    }
    if let Some(s) = &p.scheduler {
        sys::sched_setattr_self(s).at(|| "set scheduler")?;
    }
    if let Some(prio) = p.io_priority {
        sys::ioprio_set_self(prio).at(|| "set I/O priority")?;
    }
    if let Some(mp) = &plan.memory_policy {
        sys::set_mempolicy(mp.mode, &mp.nodemask, mp.maxnode).at(|| "set the memory policy")?;
    }
    // AppArmor and SELinux were checked on the host by the plan: the
    // container's /sys says nothing about the host.
    Ok(())
}

/// The state for a hook run in the container: our pid as the container
/// sees it, and the given status.
fn container_state(json: &str, status: &str) -> String {
    // No hooks, no state: skip the parse (a failing one costs serde_json's
    // error position, and with it a CPU-feature probe, in every init).
    if json.is_empty() {
        return String::new();
    }
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_string();
    };
    v["pid"] = serde_json::json!(std::process::id());
    v["status"] = serde_json::json!(status);
    v.to_string()
}
