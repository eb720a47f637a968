//! The container's view of its cgroups: what a `"type": "cgroup"` mount
//! becomes. With a cgroup namespace every hierarchy is mounted afresh (the
//! namespace makes the container's cgroup its root); without one, the
//! container's own directories are bind-mounted, so it never sees the host's
//! tree. On v1 the hierarchies sit on a tmpfs, with symlinks for combined
//! controllers ("cpu" -> "cpu,cpuacct"). As runc, the cgroup2 mount of a
//! hybrid host is not recreated inside.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::Cgroup;
use crate::error::{AtStep, StepError};
use crate::rootfs::mount as m;
use crate::rootfs::options::{Attrs, MountPlan};
use crate::rootfs::resolve;
use crate::sys;

#[derive(Debug, Clone)]
pub struct Entry {
    /// Directory name under the mount point ("memory", "cpu,cpuacct").
    pub name: String,
    /// The cgroup filesystem option for a fresh mount ("memory", "name=systemd").
    pub option: String,
    /// The container's directory on the host, for the bind fallback.
    pub host_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct View {
    pub unified: bool,
    pub cgroupns: bool,
    pub entries: Vec<Entry>,
}

impl View {
    pub fn plan(cg: &Cgroup, cgroupns: bool) -> View {
        let entries = cg
            .dirs
            .iter()
            .filter(|d| !d.is_v2() || cg.unified)
            .map(|d| Entry {
                name: d
                    .mountpoint
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                option: d.controllers.join(","),
                host_dir: d.path.clone(),
            })
            .collect();
        View {
            unified: cg.unified,
            cgroupns,
            entries,
        }
    }

    /// Mount the view at `mp.dest` under `root`.
    pub fn mount(&self, root: BorrowedFd<'_>, mp: &MountPlan) -> Result<(), StepError> {
        let step = || mp.describe();
        let target = resolve::ensure_target(root, &mp.dest, false).at(step)?;
        if self.unified {
            let Some(entry) = self.entries.first() else {
                // No cgroup of our own (rootless, not delegated): an empty
                // read-only tmpfs rather than the host's tree.
                let ro = sys::MOUNT_ATTR_RDONLY
                    | sys::MOUNT_ATTR_NOSUID
                    | sys::MOUNT_ATTR_NODEV
                    | sys::MOUNT_ATTR_NOEXEC;
                let tmpfs = m::new_fs("tmpfs", "tmpfs", &["ro"], &[], ro, &step)?;
                return m::attach(&tmpfs, &target).at(step);
            };
            let tree = self.hierarchy(entry, "cgroup2", mp.attrs.set, &step)?;
            return m::attach(&tree, &target).at(step);
        }
        let data = [("mode".to_string(), Some("755".to_string()))];
        let base = sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV | sys::MOUNT_ATTR_NOEXEC;
        let tmpfs = m::new_fs("tmpfs", "tmpfs", &[], &data, base, &step)?;
        m::attach(&tmpfs, &target).at(step)?;
        let dest = &mp.dest;
        for entry in &self.entries {
            let sub = dest.join(&entry.name);
            let at = resolve::ensure_target(root, &sub, false)
                .at(|| format!("{} ({})", step(), entry.name))?;
            let tree = self.hierarchy(entry, "cgroup", mp.attrs.set | base, &|| {
                format!("{} ({})", step(), entry.name)
            })?;
            m::attach(&tree, &at).at(|| format!("{} ({})", step(), entry.name))?;
            if entry.name.contains(',') {
                link_controllers(root, dest, &entry.name)?;
            }
        }
        // Unlike runc 1.1-1.4, the tmpfs itself is read-only too when asked.
        let ro = Attrs {
            set: mp.attrs.set & sys::MOUNT_ATTR_RDONLY,
            clear: 0,
        };
        m::set_attrs(tmpfs.as_fd(), ro, false).at(step)
    }

    /// One hierarchy: a fresh mount in a cgroup namespace, else a bind of the
    /// container's own directory.
    fn hierarchy(
        &self,
        entry: &Entry,
        fstype: &str,
        attrs: u64,
        step: &dyn Fn() -> String,
    ) -> Result<std::os::fd::OwnedFd, StepError> {
        if self.cgroupns {
            let (flags, data): (Vec<&str>, Vec<(String, Option<String>)>) = if fstype == "cgroup2" {
                (Vec::new(), Vec::new())
            } else {
                let data = entry
                    .option
                    .split(',')
                    .map(|o| match o.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (o.to_string(), None),
                    })
                    .collect();
                (Vec::new(), data)
            };
            let source = if entry.option.starts_with("name=") {
                entry.name.as_str()
            } else {
                fstype
            };
            match m::new_fs(fstype, source, &flags, &data, attrs, step) {
                Ok(fd) => return Ok(fd),
                // A user namespace without the right to mount cgroupfs: bind instead.
                Err(e) if e.errno == Errno::EPERM || e.errno == Errno::EBUSY => {}
                Err(e) => return Err(e),
            }
        }
        let cwd = nix::fcntl::AT_FDCWD;
        let tree = m::clone_tree(cwd, &entry.host_dir, true).at(step)?;
        let attrs = Attrs {
            set: attrs,
            clear: 0,
        };
        m::set_attrs(tree.as_fd(), attrs, true).at(step)?;
        Ok(tree)
    }
}

fn link_controllers(root: BorrowedFd<'_>, dest: &Path, combined: &str) -> Result<(), StepError> {
    let dir = resolve::open_path(root, dest).at(|| format!("open {}", dest.display()))?;
    for controller in combined.split(',') {
        match nix::unistd::symlinkat(combined, dir.as_fd(), controller) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => {
                return Err(StepError::new(
                    format!("symlink {}/{controller}", dest.display()),
                    e,
                ))
            }
        }
    }
    Ok(())
}
