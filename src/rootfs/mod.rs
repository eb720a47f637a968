//! The container's root filesystem: propagation of /, the rootfs bind, every
//! mount in config order (each target resolved inside the rootfs and
//! attached through descriptors), /dev, then after pivot_root the read-only
//! root, read-only paths and masked paths.

pub mod copyup;
pub mod dev;
pub mod mount;
pub mod options;
pub mod paths;
pub mod pivot;
pub mod procmount;
pub mod resolve;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;

use crate::error::{AtStep, StepError};
use crate::spec::plan::RootfsPlan;
use options::{MountKind, MountPlan};

/// What `prepare` hands on to `finalize`.
pub struct Prepared {
    /// O_PATH descriptor of the rootfs.
    pub root: OwnedFd,
    /// A detached clone of the host's /dev/null for masking files: after
    /// pivot_root the host's mounts can no longer be cloned.
    pub null_tree: OwnedFd,
}

/// Everything before pivot_root.
/// `trees` are bind mounts rrun already built detached, by mount index
/// (idmapped mounts: only the host's user namespace may create those).
pub fn prepare(plan: &RootfsPlan, trees: &[(usize, OwnedFd)]) -> Result<Prepared, StepError> {
    // Our copy of the host's mounts must not propagate back (rslave by
    // default, or what linux.rootfsPropagation asks).
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        plan.propagation,
        None::<&str>,
    )
    .at(|| "set propagation of /")?;
    // The mount holding the rootfs becomes private (runc's
    // rootfsParentMountPrivate): the bind below then cannot propagate to
    // other namespaces, and pivot_root accepts it even when the host made
    // that mount shared.
    // When linux.rootfsPropagation asks for a slave root, the holding mount
    // becomes a slave instead (not shared either, and the root keeps a master).
    let slave = plan.propagation_set && plan.propagation.contains(MsFlags::MS_SLAVE);
    make_parent_private(
        &plan.rootfs,
        if slave {
            MsFlags::MS_SLAVE
        } else {
            MsFlags::MS_PRIVATE
        },
    )?;
    // pivot_root needs the new root to be a mount point.
    nix::mount::mount(
        Some(&plan.rootfs),
        &plan.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .at(|| format!("bind rootfs {}", plan.rootfs.display()))?;
    let root = nix::fcntl::open(
        &plan.rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .at(|| format!("open rootfs {}", plan.rootfs.display()))?;
    for m in &plan.mounts {
        let tree = trees.iter().find(|(i, _)| *i == m.index).map(|(_, fd)| fd);
        mount_one(root.as_fd(), m, plan, tree)?;
    }
    if plan.setup_dev {
        dev::create_devices(root.as_fd(), &plan.devices, plan.bind_devices)?;
        dev::create_links(root.as_fd(), &plan.dev_links)?;
    }
    // Opened here, in our mount namespace (a descriptor from before the
    // clone names a mount of the host's namespace, which cannot be cloned).
    let dev_null = nix::fcntl::open("/dev/null", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .at(|| "open /dev/null")?;
    paths::verify_dev_null(dev_null.as_fd()).at(|| "verify /dev/null")?;
    let null_tree = mount::clone_tree(dev_null.as_fd(), Path::new(""), false)
        .at(|| "clone /dev/null for masking")?;
    Ok(Prepared { root, null_tree })
}

/// After pivot_root: the read-only root, read-only paths, masked paths.
pub fn finalize(
    plan: &RootfsPlan,
    root: BorrowedFd<'_>,
    null_tree: OwnedFd,
) -> Result<(), StepError> {
    if plan.readonly {
        paths::readonly_root(root)?;
    }
    paths::make_readonly(root, &plan.readonly_paths)?;
    paths::mask(root, &plan.masked, null_tree)
}

/// An O_PATH descriptor of the current root.
pub fn open_root() -> nix::Result<OwnedFd> {
    nix::fcntl::open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Create a directory (and its parents) inside the root if missing.
pub fn ensure_dir(root: BorrowedFd<'_>, path: &Path) -> Result<(), StepError> {
    match resolve::open_path(root, path) {
        Ok(_) => Ok(()),
        Err(Errno::ENOENT) => resolve::mkdir_all(root, path, 0o755)
            .map(drop)
            .at(|| format!("create {}", path.display())),
        Err(e) => Err(StepError::new(format!("open {}", path.display()), e)),
    }
}

fn mount_one(
    root: BorrowedFd<'_>,
    m: &MountPlan,
    plan: &RootfsPlan,
    prebuilt: Option<&OwnedFd>,
) -> Result<(), StepError> {
    let step = || m.describe();
    match &m.kind {
        MountKind::Cgroup => match &plan.cgroup_view {
            Some(view) => return view.mount(root, m),
            None => {
                return Err(StepError::msg(format!(
                    "{}: no cgroup view planned",
                    step()
                )))
            }
        },
        MountKind::Remount => {
            let target = resolve::open_path(root, &m.dest).at(step)?;
            mount::set_attrs(target.as_fd(), m.attrs, false).at(step)?;
            mount::set_attrs(target.as_fd(), m.rec_attrs, true).at(step)?;
            return propagate(&target, m);
        }
        _ => {}
    }
    procmount::check_written(m)?;
    let target = if matches!(&m.kind, MountKind::Fs { fstype, .. } if fstype == "proc" || fstype == "sysfs")
    {
        kernel_fs_target(root, m)?
    } else {
        resolve::ensure_target(root, &m.dest, m.file_target)
            .at(|| format!("{} (creating the mount point)", step()))?
    };
    procmount::check_resolved(m, root, target.as_fd())?;
    // Attack tests hold here: the target is resolved, the mount not made.
    crate::testpoint::pause_at("mount-target", &m.dest.to_string_lossy());
    let target = if crate::testpoint::disabled("in-root-mounts") {
        // The weakness the protection removes: look the path up again,
        // following symlinks as the host sees them.
        let path = plan
            .rootfs
            .join(m.dest.strip_prefix("/").unwrap_or(&m.dest));
        nix::fcntl::open(&path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).at(step)?
    } else {
        target
    };
    let tree = match (&m.kind, prebuilt) {
        (MountKind::Bind { .. }, Some(tree)) => {
            // Built and idmapped by the parent; attributes already set.
            let tree = crate::sys::dup_above(tree.as_fd(), 3).at(step)?;
            mount::attach(&tree, &target).at(step)?;
            return propagate(&tree, m);
        }
        (MountKind::Bind { source, recursive }, None) => {
            let tree = mount::clone_tree(nix::fcntl::AT_FDCWD, source, *recursive).at(step)?;
            mount::set_attrs(tree.as_fd(), m.attrs, false).at(step)?;
            tree
        }
        (MountKind::Fs { fstype, source }, _) => {
            let data = fs_data(fstype, &m.data);
            mount::new_fs(fstype, source, &m.sb_flags, &data, m.attrs.set, &step)?
        }
        (MountKind::Cgroup | MountKind::Remount, _) => unreachable_kind()?,
    };
    mount::set_attrs(tree.as_fd(), m.rec_attrs, true).at(step)?;
    let original = if m.tmpcopyup {
        Some(resolve::open_in_root(root, &m.dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY).at(step)?)
    } else {
        None
    };
    mount::attach(&tree, &target).at(step)?;
    if let Some(orig) = original {
        copyup::copy_up(orig.as_fd(), tree.as_fd()).at(|| format!("{} (tmpcopyup)", step()))?;
    }
    propagate(&tree, m)
}

fn unreachable_kind() -> Result<OwnedFd, StepError> {
    Err(StepError::msg("internal: mount kind handled above"))
}

/// proc and sysfs are only mounted on a real directory reached without
/// symlinks (runc's rule since CVE-2019-19921).
fn kernel_fs_target(root: BorrowedFd<'_>, m: &MountPlan) -> Result<OwnedFd, StepError> {
    let step = || m.describe();
    resolve::ensure_target(root, &m.dest, false).at(step)?;
    let rel = m.dest.strip_prefix("/").unwrap_or(&m.dest);
    let path = std::ffi::CString::new(rel.as_os_str().as_encoded_bytes())
        .map_err(|_| StepError::msg(step()))?;
    let fd = crate::sys::openat2(
        root,
        &path,
        (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(),
        0,
        crate::sys::RESOLVE_IN_ROOT | crate::sys::RESOLVE_NO_SYMLINKS,
    )
    .map_err(|e| match e {
        Errno::ELOOP | Errno::ENOTDIR => StepError::msg(format!(
            "{}: the target must be a directory and not reached through a symlink",
            step()
        )),
        e => StepError::new(step(), e),
    })?;
    Ok(fd)
}

/// devpts in a new instance needs no "newinstance" (it is the default and
/// the new mount API refuses the legacy flag).
fn fs_data(fstype: &str, data: &[(String, Option<String>)]) -> Vec<(String, Option<String>)> {
    data.iter()
        .filter(|(k, v)| !(fstype == "devpts" && k == "newinstance" && v.is_none()))
        .cloned()
        .collect()
}

fn propagate(fd: &OwnedFd, m: &MountPlan) -> Result<(), StepError> {
    for (flag, recursive) in &m.propagation {
        mount::set_propagation(fd.as_fd(), *flag, *recursive)
            .at(|| format!("{} (propagation)", m.describe()))?;
    }
    Ok(())
}

/// Build an idmapped bind mount, detached, for the init to attach: the tree,
/// its attributes, then the idmapping with `userns`.
pub fn idmapped_tree(m: &MountPlan, userns: BorrowedFd<'_>) -> Result<OwnedFd, StepError> {
    let step = || format!("{} (idmap)", m.describe());
    let MountKind::Bind { source, recursive } = &m.kind else {
        return Err(StepError::msg(format!(
            "{}: only bind mounts can be idmapped",
            m.describe()
        )));
    };
    let tree = mount::clone_tree(nix::fcntl::AT_FDCWD, source, *recursive).at(step)?;
    mount::set_attrs(tree.as_fd(), m.attrs, false).at(step)?;
    mount::set_attrs(tree.as_fd(), m.rec_attrs, true).at(step)?;
    if let Err(e) = mount::set_idmap(tree.as_fd(), userns, m.idmap.unwrap_or(false)) {
        // The kernel refuses filesystems that cannot be idmapped (or not on
        // this kernel): name the filesystem, the usual cause.
        let fs = nix::sys::statfs::fstatfs(tree.as_fd())
            .map(|st| fs_name(st.filesystem_type().0))
            .unwrap_or_else(|_| "unknown".into());
        let why = if matches!(e, Errno::EINVAL | Errno::EOPNOTSUPP) {
            format!("{fs} filesystem does not support idmapped mounts on this kernel")
        } else {
            format!("on a {fs} filesystem")
        };
        return Err(StepError::new(format!("{}: {why}", step()), e));
    }
    Ok(tree)
}

/// A filesystem's name from its statfs magic (the common ones).
fn fs_name(magic: i64) -> String {
    let name = match magic {
        0xEF53 => "ext4",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x8584_58F6 => "ramfs",
        0x6265_6572 => "sysfs",
        0x9FA0 => "proc",
        0x794C_7630 => "overlay",
        0x0102_1997 => "9p",
        0x6573_5546 => "fuse",
        0x6969 => "nfs",
        0x7371_7368 => "squashfs",
        0x4D44 => "vfat",
        0x6367_7270 => "cgroup2",
        0x2FC1_2FC1 => "zfs",
        0xF2F5_2010 => "f2fs",
        _ => return format!("(magic {magic:#x})"),
    };
    name.to_string()
}

/// Make the mount that holds `path` private or a slave: the propagation of
/// a path that is not a mount point cannot change (EINVAL), so try `path`,
/// then each parent up to / (runc's walk; no mountinfo to read and parse).
fn make_parent_private(path: &Path, how: MsFlags) -> Result<(), StepError> {
    let mut dir = path;
    loop {
        let r = nix::mount::mount(None::<&str>, dir, None::<&str>, how, None::<&str>);
        match (r, dir.parent()) {
            (Err(Errno::EINVAL), Some(parent)) => dir = parent,
            (r, _) => return r.at(|| format!("change the propagation of {}", dir.display())),
        }
    }
}
