//! Mount primitives on the new mount API: every mount is built detached
//! (fsopen/fsmount or open_tree), given its attributes while detached, and
//! attached with move_mount onto a descriptor resolved inside the rootfs.
//! No path is looked up twice, so nothing can be swapped in between.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;

use super::options::Attrs;
use crate::error::StepError;
use crate::sys::{self, MountAttr};

fn c(s: &str) -> Result<CString, Errno> {
    CString::new(s).map_err(|_| Errno::EINVAL)
}

/// A new filesystem instance, detached. On failure the kernel's own message
/// (from the fs context) is added to the step.
pub fn new_fs(
    fstype: &str,
    source: &str,
    sb_flags: &[&str],
    data: &[(String, Option<String>)],
    attrs: u64,
    step: &dyn Fn() -> String,
) -> Result<OwnedFd, StepError> {
    let fail = |fsfd: Option<BorrowedFd<'_>>, e: Errno| {
        let detail = fsfd.and_then(sys::fs_context_message);
        match detail {
            Some(d) => StepError::new(format!("{} ({d})", step()), e),
            None => StepError::new(step(), e),
        }
    };
    let fsfd = sys::fsopen(&c(fstype).map_err(|e| fail(None, e))?).map_err(|e| fail(None, e))?;
    let run = || -> Result<OwnedFd, Errno> {
        sys::fsconfig_set(fsfd.as_fd(), c"source", Some(&c(source)?))?;
        for flag in sb_flags {
            sys::fsconfig_set(fsfd.as_fd(), &c(flag)?, None)?;
        }
        for (key, value) in data {
            let value = value.as_deref().map(c).transpose()?;
            sys::fsconfig_set(fsfd.as_fd(), &c(key)?, value.as_deref())?;
        }
        sys::fsconfig_create(fsfd.as_fd())?;
        sys::fsmount(fsfd.as_fd(), attrs)
    };
    run().map_err(|e| fail(Some(fsfd.as_fd()), e))
}

/// A detached copy of the mount tree at `path` (relative to `dirfd`; an
/// empty path means the descriptor itself), recursive for rbind.
pub fn clone_tree(dirfd: BorrowedFd<'_>, path: &Path, recursive: bool) -> nix::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let p = CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let mut flags = sys::OPEN_TREE_CLONE | sys::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= sys::AT_RECURSIVE;
    }
    if path.as_os_str().is_empty() {
        flags |= libc::AT_EMPTY_PATH as u32;
    }
    sys::open_tree(dirfd, &p, flags)
}

/// Set and clear mount attributes (recursively for the r* options).
pub fn set_attrs(fd: BorrowedFd<'_>, attrs: Attrs, recursive: bool) -> nix::Result<()> {
    if attrs.is_empty() {
        return Ok(());
    }
    sys::mount_setattr(fd, recursive, &attrs.to_mount_attr())
}

pub fn set_propagation(fd: BorrowedFd<'_>, flag: u64, recursive: bool) -> nix::Result<()> {
    let attr = MountAttr {
        propagation: flag,
        ..Default::default()
    };
    sys::mount_setattr(fd, recursive, &attr)
}

/// Idmap a detached mount with the user namespace `userns`.
pub fn set_idmap(fd: BorrowedFd<'_>, userns: BorrowedFd<'_>, recursive: bool) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    let attr = MountAttr {
        attr_set: sys::MOUNT_ATTR_IDMAP,
        userns_fd: userns.as_raw_fd() as u64,
        ..Default::default()
    };
    sys::mount_setattr(fd, recursive, &attr)
}

/// Attach a detached mount onto a target descriptor.
pub fn attach(tree: &OwnedFd, target: &OwnedFd) -> nix::Result<()> {
    sys::move_mount_fd(tree.as_fd(), target.as_fd())
}
