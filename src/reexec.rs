//! CVE-2019-5736 class: no process that rrun sends into a container may run
//! from a writable rrun binary, or a container process could open its
//! /proc/<pid>/exe, keep the descriptor, and write the binary once rrun
//! exits (non-dumpable is not enough: CAP_SYS_PTRACE without a user
//! namespace passes the ptrace check).
//!
//! So `exec` (and `create` and `run` where the start trampoline cannot
//! serve: process/trampoline.rs; never state, kill, delete...) re-executes
//! itself, once, from a read-only bind of the rrun binary: a detached mount
//! (open_tree of /proc/self/exe, made read-only with mount_setattr)
//! executed with execveat. Every process it forks (the init, the exec'd
//! process) then has an exe that cannot be opened for writing (EROFS), even
//! by root in the container, and the mount is in no namespace anyone could
//! remount. Where no mount can be made (no privilege), a sealed memfd copy
//! of the binary serves instead.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::process::Handover;
use crate::sys;

/// Set in the environment of the re-executed rrun, so that it never
/// re-executes again (container processes get the config's environment).
const MARK: &str = "_RRUN_READONLY_SELF";

/// Is this rrun already running from a read-only binary (a read-only mount,
/// or a memfd sealed against writes)?
fn running_readonly() -> bool {
    let Ok(exe) = nix::fcntl::open(
        "/proc/self/exe",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    nix::sys::statvfs::fstatvfs(&exe)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
        || sys::memfd_write_sealed(exe.as_fd())
}

/// A read-only view of our own binary: a detached read-only bind mount, or
/// a sealed memfd copy.
fn readonly_binary() -> nix::Result<OwnedFd> {
    match readonly_bind() {
        Ok(fd) => Ok(fd),
        Err(_) => sealed_copy(),
    }
}

fn readonly_bind() -> nix::Result<OwnedFd> {
    let flags = sys::OPEN_TREE_CLONE | sys::OPEN_TREE_CLOEXEC;
    let tree = sys::open_tree(nix::fcntl::AT_FDCWD, c"/proc/self/exe", flags)?;
    let attr = sys::MountAttr {
        attr_set: sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
        ..Default::default()
    };
    sys::mount_setattr(tree.as_fd(), false, &attr)?;
    Ok(tree)
}

fn sealed_copy() -> nix::Result<OwnedFd> {
    let mut src = std::fs::File::open("/proc/self/exe")
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    let mut data = Vec::new();
    src.read_to_end(&mut data).map_err(|_| Errno::EIO)?;
    sys::sealed_memfd(c"rrun", &data)
}

/// Not re-executed yet (never loop), and the protection not switched off.
fn unprotected() -> bool {
    std::env::var_os(MARK).is_none() && !crate::testpoint::disabled("readonly-self")
}

/// `create` and `run`, once the config is loaded and before the plan:
/// re-execute now unless the start trampoline may serve the init
/// (process/trampoline.rs). True: decide on the plan (`protect_init`).
pub fn protect_before_plan(spec: &oci_spec::runtime::Spec) -> bool {
    if !unprotected() {
        return false;
    }
    if crate::process::trampoline::fits_config(spec) {
        return true;
    }
    ensure_readonly_self();
    false
}

/// `create` and `run`, after the plan and before anything is made, when
/// `protect_before_plan` said so: the start trampoline where the plan lets
/// it serve (`immediate`: a `run` without a terminal, which it starts
/// without waiting), else re-execute now (the init then waits as
/// read-only rrun).
pub fn protect_init(
    plan: &crate::spec::ContainerPlan,
    may_use_trampoline: bool,
    immediate: bool,
) -> Handover {
    use crate::process::trampoline;
    if !may_use_trampoline {
        return Handover::WaitInRrun;
    }
    if trampoline::fits_plan(plan, immediate) {
        if let Some(fd) = trampoline::load() {
            return Handover::Trampoline { fd, immediate };
        }
    }
    ensure_readonly_self();
    Handover::WaitInRrun
}

/// Re-execute from a read-only binary unless already doing so (`exec`, and
/// containers the trampoline cannot serve). Returns only when no
/// re-execution happens (already read-only, or it is impossible: then the
/// caller goes on, as before the protection existed).
pub fn ensure_readonly_self() {
    if unprotected() && !running_readonly() {
        reexecute();
    }
}

fn reexecute() {
    let Ok(binary) = readonly_binary() else {
        return;
    };
    let argv: Vec<CString> = std::env::args_os()
        .filter_map(|a| CString::new(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str())).ok())
        .collect();
    let mut envp: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = std::os::unix::ffi::OsStrExt::as_bytes(k.as_os_str()).to_vec();
            kv.push(b'=');
            kv.extend_from_slice(std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()));
            CString::new(kv).ok()
        })
        .collect();
    envp.push(CString::new(format!("{MARK}=1")).unwrap_or_default());
    // On failure (e.g. a seccomp profile of our caller forbids execveat),
    // go on as we are.
    let _ = sys::execveat_empty(binary.as_fd(), &argv, &envp);
}
