//! What may be mounted on or inside the container's /proc, as runc allows
//! it (CVE-2019-16884 class: a fake /proc hides the LSM and procfs
//! interfaces from the runtime and the container's confinement): on /proc
//! itself only procfs (a proc mount, or a bind of a procfs root); inside
//! /proc only the files lxcfs emulates. "Inside" is decided on the
//! destination as written (before /proc is mounted, /proc/x is still a
//! rootfs path) and on the resolved mount point (a symlink in the image may
//! lead into /proc: the target is then on the very procfs mounted at the
//! container's /proc). A host procfs bound elsewhere (`-v /proc:/host/proc`)
//! is another procfs instance, and mounts below it are allowed, as in runc.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::sys::stat::fstat;
use nix::sys::statfs::{statfs, PROC_SUPER_MAGIC};

use super::options::{MountKind, MountPlan};
use crate::error::StepError;

/// The files lxcfs (and runc) may bind inside /proc.
const LXCFS_FILES: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled",
];

/// procfs's root directory inode.
const PROC_ROOT_INO: u64 = 1;

/// Before the mount point is made: refuse `m` if its destination, as
/// written, puts something other than procfs on /proc or anything but an
/// lxcfs file inside it.
pub fn check_written(m: &MountPlan) -> Result<(), StepError> {
    if m.dest == Path::new("/proc") {
        return if is_procfs_source(&m.kind) {
            Ok(())
        } else {
            Err(refused(m, "is not of type proc"))
        };
    }
    if m.dest.starts_with("/proc") && !lxcfs_file(m) {
        return Err(refused(m, "is inside /proc"));
    }
    Ok(())
}

/// After resolving: refuse `m` if its mount point `target` was reached
/// (through the image's symlinks) inside the container's /proc.
pub fn check_resolved(
    m: &MountPlan,
    root: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
) -> Result<(), StepError> {
    if m.dest != Path::new("/proc") && !lxcfs_file(m) && on_the_containers_proc(root, target) {
        return Err(refused(m, "is inside /proc"));
    }
    Ok(())
}

fn lxcfs_file(m: &MountPlan) -> bool {
    LXCFS_FILES.iter().any(|f| m.dest == Path::new(f))
}

/// Is `target` on the procfs mounted at the container's /proc?
fn on_the_containers_proc(root: BorrowedFd<'_>, target: BorrowedFd<'_>) -> bool {
    let is_procfs = |fd: BorrowedFd<'_>| crate::proc_files::ensure_procfs(fd).is_ok();
    if !is_procfs(target) {
        return false;
    }
    let Ok(proc) = super::resolve::open_path(root, Path::new("/proc")) else {
        return false;
    };
    let dev = |fd: BorrowedFd<'_>| fstat(fd).map(|st| st.st_dev);
    is_procfs(proc.as_fd()) && dev(proc.as_fd()).ok() == dev(target).ok()
}

fn is_procfs_source(kind: &MountKind) -> bool {
    match kind {
        MountKind::Fs { fstype, .. } => fstype == "proc",
        MountKind::Bind { source, .. } => {
            if !statfs(source).is_ok_and(|s| s.filesystem_type() == PROC_SUPER_MAGIC) {
                return false;
            }
            // As current runc: a procfs subdirectory is allowed, with a warning.
            if !nix::sys::stat::stat(source).is_ok_and(|st| st.st_ino == PROC_ROOT_INO) {
                crate::logging::warn(&format!(
                    "bind mount of {} on /proc is not the root of a procfs",
                    source.display()
                ));
            }
            true
        }
        MountKind::Cgroup | MountKind::Remount => false,
    }
}

fn refused(m: &MountPlan, why: &str) -> StepError {
    StepError::msg(format!(
        "{}: {} cannot be mounted because it {why}",
        m.describe(),
        m.dest.display()
    ))
}
