//! /dev inside the container: the default device nodes, linux.devices, and
//! the /dev symlinks (fd, stdin, stdout, stderr, core, ptmx). Nodes are made
//! with mknodat relative to a /dev descriptor resolved in the root; an entry
//! already there must be the very device asked for (never followed if it is
//! a symlink). In a user namespace, where mknod is refused, the host's node is
//! bind-mounted instead.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{fchmodat, fstatat, makedev, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchownat, Gid, Uid};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::mount as m;
use super::resolve;
use crate::error::{AtStep, StepError};
use crate::spec::SpecError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    /// Absolute path inside the container.
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    /// Permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

fn default_device(name: &str, major: u64, minor: u64) -> DevicePlan {
    DevicePlan {
        path: PathBuf::from("/dev").join(name),
        kind: SFlag::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    }
}

/// The nodes every container gets in its /dev (runc's list).
pub fn default_devices() -> Vec<DevicePlan> {
    vec![
        default_device("null", 1, 3),
        default_device("random", 1, 8),
        default_device("full", 1, 7),
        default_device("tty", 5, 0),
        default_device("zero", 1, 5),
        default_device("urandom", 1, 9),
    ]
}

/// Lower linux.devices; a config device replaces a default one at the same path.
pub fn lower_devices(
    list: &[LinuxDevice],
    with_defaults: bool,
) -> Result<Vec<DevicePlan>, SpecError> {
    let mut out = if with_defaults {
        default_devices()
    } else {
        Vec::new()
    };
    for (i, d) in list.iter().enumerate() {
        let field = format!("linux.devices[{i}]");
        let path = d.path();
        if !path.is_absolute() {
            return Err(SpecError::invalid(
                format!("{field}.path"),
                format!("{} is not an absolute path", path.display()),
            ));
        }
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(SpecError::invalid(
                    format!("{field}.type"),
                    "\"a\" is not a device node type",
                ))
            }
        };
        if d.major() < 0 || d.minor() < 0 {
            return Err(SpecError::invalid(
                field,
                "major and minor must not be negative",
            ));
        }
        let plan = DevicePlan {
            path: super::options::clean_container_path(path),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        out.retain(|o| o.path != plan.path);
        out.push(plan);
    }
    Ok(out)
}

/// Create every device under `root`; `bind` = bind-mount host nodes instead.
pub fn create_devices(
    root: BorrowedFd<'_>,
    devices: &[DevicePlan],
    bind: bool,
) -> Result<(), StepError> {
    for d in devices {
        create_device(root, d, bind)?;
    }
    Ok(())
}

fn create_device(root: BorrowedFd<'_>, d: &DevicePlan, bind: bool) -> Result<(), StepError> {
    let step = || format!("create device {}", d.path.display());
    let parent = d.path.parent().unwrap_or(Path::new("/"));
    let name = d.path.file_name().ok_or_else(|| StepError::msg(step()))?;
    let dir = resolve::mkdir_all(root, parent, 0o755).at(step)?;
    if bind {
        return bind_host_node(root, d);
    }
    let mode = Mode::from_bits_truncate(d.mode);
    match mknodat(dir.as_fd(), name, d.kind, mode, makedev(d.major, d.minor)) {
        Ok(()) => {}
        Err(Errno::EEXIST) => return check_existing(dir.as_fd(), name, d),
        // Not allowed to mknod (a user namespace we did not plan for): bind.
        Err(Errno::EPERM) => {
            // A user namespace we did not plan for can bind the host's node;
            // otherwise the device cgroup refused mknod: say that.
            return bind_host_node(root, d).map_err(|_| {
                StepError::new(
                    format!(
                        "create device {} (mknod is not allowed by the device rules)",
                        d.path.display()
                    ),
                    Errno::EPERM,
                )
            });
        }
        Err(e) => return Err(StepError::new(step(), e)),
    }
    fchownat(
        dir.as_fd(),
        name,
        Some(Uid::from_raw(d.uid)),
        Some(Gid::from_raw(d.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .at(|| format!("chown device {}", d.path.display()))?;
    fchmodat(dir.as_fd(), name, mode, FchmodatFlags::NoFollowSymlink)
        .or_else(|e| match e {
            // Older kernels cannot chmod without following; the node was just made.
            Errno::EOPNOTSUPP => fchmodat(dir.as_fd(), name, mode, FchmodatFlags::FollowSymlink),
            e => Err(e),
        })
        .at(|| format!("chmod device {}", d.path.display()))
}

/// An entry already at the path must be the requested device (the spec says
/// anything else is an error); a symlink is never followed.
fn check_existing(
    dir: BorrowedFd<'_>,
    name: &std::ffi::OsStr,
    d: &DevicePlan,
) -> Result<(), StepError> {
    let st = fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .at(|| format!("stat {}", d.path.display()))?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    let same =
        kind == d.kind && (kind == SFlag::S_IFIFO || st.st_rdev == makedev(d.major, d.minor));
    if same {
        return Ok(());
    }
    Err(StepError::msg(format!(
        "create device {}: a different file already exists there",
        d.path.display()
    )))
}

fn bind_host_node(root: BorrowedFd<'_>, d: &DevicePlan) -> Result<(), StepError> {
    let step = || format!("bind host device {}", d.path.display());
    let target = resolve::ensure_target(root, &d.path, true).at(step)?;
    let tree = m::clone_tree(nix::fcntl::AT_FDCWD, &d.path, false).at(step)?;
    m::attach(&tree, &target).at(step)
}

/// The /dev symlinks runc makes; "core" only when the host has /proc/kcore.
pub fn dev_links(with_core: bool) -> Vec<(&'static str, &'static str)> {
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if with_core {
        links.push(("/proc/kcore", "core"));
    }
    links
}

/// Create the /dev symlinks and /dev/ptmx -> pts/ptmx.
pub fn create_links(root: BorrowedFd<'_>, links: &[(&str, &str)]) -> Result<(), StepError> {
    let dev = resolve::mkdir_all(root, Path::new("/dev"), 0o755).at(|| "open /dev")?;
    for (target, name) in links {
        match nix::unistd::symlinkat(*target, dev.as_fd(), *name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(StepError::new(format!("symlink /dev/{name}"), e)),
        }
    }
    match nix::unistd::unlinkat(dev.as_fd(), "ptmx", nix::unistd::UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(StepError::new("remove /dev/ptmx", e)),
    }
    nix::unistd::symlinkat("pts/ptmx", dev.as_fd(), "ptmx").at(|| "symlink /dev/ptmx")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_devices_replace_defaults() {
        let list: Vec<LinuxDevice> = serde_json::from_str(
            r#"[{"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":384},
                {"path":"/dev/fuse","type":"c","major":10,"minor":229}]"#,
        )
        .expect("valid devices json");
        let plan = lower_devices(&list, true).expect("lowers");
        assert_eq!(plan.len(), 7);
        let null = plan
            .iter()
            .find(|d| d.path == Path::new("/dev/null"))
            .expect("null");
        assert_eq!(null.mode, 0o600);
        let fuse = plan
            .iter()
            .find(|d| d.path == Path::new("/dev/fuse"))
            .expect("fuse");
        assert_eq!((fuse.major, fuse.minor, fuse.mode), (10, 229, 0o666));
    }

    #[test]
    fn rejects_relative_paths() {
        let list: Vec<LinuxDevice> =
            serde_json::from_str(r#"[{"path":"dev/x","type":"c","major":1,"minor":3}]"#)
                .expect("json");
        assert!(lower_devices(&list, false).is_err());
    }
}
