//! Switch the root: pivot_root(".", ".") and a lazy unmount of the old root
//! (made a slave first so the unmount cannot propagate to the host), or, with
//! --no-pivot, MS_MOVE onto / and chroot. Then the root's propagation as
//! linux.rootfsPropagation asks.

use std::os::fd::{AsFd, OwnedFd};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::error::{AtStep, StepError};

pub fn pivot(root: &OwnedFd) -> Result<(), StepError> {
    let old_root = super::open_root().at(|| "open the old root")?;
    nix::unistd::fchdir(root.as_fd()).at(|| "chdir to the rootfs")?;
    nix::unistd::pivot_root(".", ".").at(|| "pivot_root")?;
    // The kernel gives no promise about what "." is now: go to the old root
    // explicitly, so that only its mounts are made slaves and detached
    // (never the container's own).
    nix::unistd::fchdir(old_root.as_fd()).at(|| "chdir to the old root")?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .at(|| "make the old root a slave")?;
    umount2(".", MntFlags::MNT_DETACH).at(|| "unmount the old root")?;
    nix::unistd::chdir("/").at(|| "chdir to /")
}

pub fn move_root(root: &OwnedFd) -> Result<(), StepError> {
    nix::unistd::fchdir(root.as_fd()).at(|| "chdir to the rootfs")?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .at(|| "move the rootfs to /")?;
    nix::unistd::chroot(".").at(|| "chroot")?;
    nix::unistd::chdir("/").at(|| "chdir to /")
}

/// linux.rootfsPropagation for the container's own root, after the switch.
pub fn set_root_propagation(flags: MsFlags) -> Result<(), StepError> {
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
        .at(|| "set the propagation of the root")
}
