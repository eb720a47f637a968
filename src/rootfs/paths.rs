//! After pivot_root: readonly paths (a recursive read-only bind of the path
//! onto itself), masked paths (a read-only empty tmpfs over a directory, the
//! host's /dev/null, verified to be the 1:3 character device, over a file),
//! and the read-only root.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::{fstat, major, minor, SFlag};

use super::mount as m;
use super::options::Attrs;
use super::resolve;
use crate::error::{AtStep, StepError};
use crate::sys;

const RDONLY: Attrs = Attrs {
    set: sys::MOUNT_ATTR_RDONLY,
    clear: 0,
};

/// Check that a descriptor is the null device (char 1:3) before it is used
/// to mask anything: a container-controlled /dev/null must not be trusted.
pub fn verify_dev_null(fd: BorrowedFd<'_>) -> nix::Result<()> {
    let st = fstat(fd)?;
    let is_char = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR;
    if is_char && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3 {
        Ok(())
    } else {
        Err(Errno::ENODEV)
    }
}

/// Bind each path read-only onto itself. Missing paths are skipped.
pub fn make_readonly(root: BorrowedFd<'_>, paths: &[PathBuf]) -> Result<(), StepError> {
    for path in paths {
        let step = || format!("make {} read-only", path.display());
        let fd = match resolve::open_path(root, path) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(StepError::new(step(), e)),
        };
        let tree = m::clone_tree(fd.as_fd(), Path::new(""), true).at(step)?;
        m::set_attrs(tree.as_fd(), RDONLY, true).at(step)?;
        m::attach(&tree, &fd).at(step)?;
    }
    Ok(())
}

/// Mask each path. Missing paths are skipped. `null_tree` is a detached
/// clone of the host's /dev/null made before pivot_root (verified to be the
/// 1:3 character device): the first masked file gets it, later ones clone the
/// first. All masked directories likewise share one read-only tmpfs.
pub fn mask(root: BorrowedFd<'_>, paths: &[PathBuf], null_tree: OwnedFd) -> Result<(), StepError> {
    if !crate::testpoint::disabled("dev-null-check") {
        verify_dev_null(null_tree.as_fd()).at(|| "verify /dev/null before masking paths")?;
    }
    let mut null_tree = Some(null_tree);
    // Prefer the container's own /dev/null (as runc does) when it really is
    // the null device: reached without symlinks and verified on the very
    // descriptor that is cloned. Otherwise the host's, cloned before pivot.
    let mut first_file: Option<OwnedFd> = container_dev_null(root);
    let mut first_dir: Option<OwnedFd> = None;
    for path in paths {
        let step = || format!("mask {}", path.display());
        let fd = match resolve::open_path(root, path) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(StepError::new(step(), e)),
        };
        let dir = resolve::is_dir(fd.as_fd()).at(step)?;
        let tree = match (dir, &first_dir, &first_file) {
            (true, Some(first), _) | (false, _, Some(first)) => {
                m::clone_tree(first.as_fd(), Path::new(""), false).at(step)?
            }
            (true, None, _) => m::new_fs(
                "tmpfs",
                "tmpfs",
                &["ro"],
                &[],
                sys::MOUNT_ATTR_RDONLY,
                &step,
            )?,
            (false, _, None) => null_tree.take().ok_or_else(|| StepError::msg(step()))?,
        };
        m::attach(&tree, &fd).at(step)?;
        // Keep a handle on the first mounted mask of each kind to clone from.
        let slot = if dir { &mut first_dir } else { &mut first_file };
        if slot.is_none() {
            *slot = Some(resolve::open_path(root, path).at(step)?);
        }
    }
    Ok(())
}

fn container_dev_null(root: BorrowedFd<'_>) -> Option<OwnedFd> {
    if crate::testpoint::disabled("dev-null-check") {
        // The weakness the protection removes: trust the path.
        let f = nix::fcntl::open(
            "/dev/null",
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        );
        return f.ok();
    }
    let fd = crate::sys::openat2(
        root,
        c"dev/null",
        (nix::fcntl::OFlag::O_PATH).bits(),
        0,
        sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS,
    )
    .ok()?;
    verify_dev_null(fd.as_fd()).ok()?;
    Some(fd)
}

/// Make the container's root read-only (the top mount only, as runc).
pub fn readonly_root(root: BorrowedFd<'_>) -> Result<(), StepError> {
    m::set_attrs(root, RDONLY, false).at(|| "make the root filesystem read-only")
}
