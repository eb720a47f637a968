//! Namespaces: which ones a container creates and which it joins by path, the
//! one entry order (user first, mount last), and whether spawning needs the
//! staged path (setns/unshare, then a fork) instead of a single clone3.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use crate::error::{Error, SysContext};
use crate::spec::SpecError;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum NsKind {
    // Declaration order is the entry order: user first, mount last.
    User,
    Ipc,
    Uts,
    Net,
    Pid,
    Cgroup,
    Time,
    Mount,
}

impl NsKind {
    pub const ALL: [NsKind; 8] = [
        NsKind::User,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::Net,
        NsKind::Pid,
        NsKind::Cgroup,
        NsKind::Time,
        NsKind::Mount,
    ];

    pub fn clone_flag(self) -> CloneFlags {
        match self {
            NsKind::User => CloneFlags::CLONE_NEWUSER,
            NsKind::Ipc => CloneFlags::CLONE_NEWIPC,
            NsKind::Uts => CloneFlags::CLONE_NEWUTS,
            NsKind::Net => CloneFlags::CLONE_NEWNET,
            NsKind::Pid => CloneFlags::CLONE_NEWPID,
            NsKind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            NsKind::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
            NsKind::Mount => CloneFlags::CLONE_NEWNS,
        }
    }

    /// The name under /proc/<pid>/ns/.
    pub fn proc_name(self) -> &'static str {
        match self {
            NsKind::User => "user",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
            NsKind::Net => "net",
            NsKind::Pid => "pid",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
            NsKind::Mount => "mnt",
        }
    }

    /// The name in config.json.
    pub fn spec_name(self) -> &'static str {
        match self {
            NsKind::Net => "network",
            NsKind::Mount => "mount",
            other => other.proc_name(),
        }
    }

    pub fn from_spec(t: LinuxNamespaceType) -> NsKind {
        match t {
            LinuxNamespaceType::User => NsKind::User,
            LinuxNamespaceType::Ipc => NsKind::Ipc,
            LinuxNamespaceType::Uts => NsKind::Uts,
            LinuxNamespaceType::Network => NsKind::Net,
            LinuxNamespaceType::Pid => NsKind::Pid,
            LinuxNamespaceType::Cgroup => NsKind::Cgroup,
            LinuxNamespaceType::Time => NsKind::Time,
            LinuxNamespaceType::Mount => NsKind::Mount,
        }
    }
}

/// The namespaces of a container, lowered from linux.namespaces.
#[derive(Debug, Clone, Default)]
pub struct NamespacePlan {
    /// Namespaces created for the container, in entry order.
    pub new: Vec<NsKind>,
    /// Namespaces joined by path, in entry order.
    pub join: Vec<(NsKind, PathBuf)>,
}

impl NamespacePlan {
    pub fn lower(list: &[LinuxNamespace]) -> Result<Self, SpecError> {
        let mut plan = NamespacePlan::default();
        let mut seen = Vec::new();
        for (i, ns) in list.iter().enumerate() {
            let kind = NsKind::from_spec(ns.typ());
            if seen.contains(&kind) {
                return Err(SpecError::invalid(
                    format!("linux.namespaces[{i}]"),
                    format!("duplicate {} namespace", kind.spec_name()),
                ));
            }
            seen.push(kind);
            match ns.path() {
                Some(p) if !p.as_os_str().is_empty() => {
                    if !p.is_absolute() {
                        return Err(SpecError::invalid(
                            format!("linux.namespaces[{i}].path"),
                            format!("{} is not an absolute path", p.display()),
                        ));
                    }
                    plan.join.push((kind, p.clone()));
                }
                _ => plan.new.push(kind),
            }
        }
        plan.new.sort();
        plan.join.sort_by_key(|(k, _)| *k);
        Ok(plan)
    }

    pub fn creates(&self, kind: NsKind) -> bool {
        self.new.contains(&kind)
    }

    pub fn joins(&self, kind: NsKind) -> bool {
        self.join.iter().any(|(k, _)| *k == kind)
    }

    /// The container has its own namespace of this kind (created or joined).
    pub fn has(&self, kind: NsKind) -> bool {
        self.creates(kind) || self.joins(kind)
    }

    /// Clone flags of every namespace to create, except `skip`.
    pub fn new_flags_except(&self, skip: &[NsKind]) -> CloneFlags {
        self.new
            .iter()
            .filter(|k| !skip.contains(k))
            .fold(CloneFlags::empty(), |acc, k| acc | k.clone_flag())
    }
}

/// Open every namespace to join, in the runtime's mount namespace, before the
/// clone: the child only calls setns on descriptors.
pub fn open_joins(plan: &NamespacePlan) -> Result<Vec<(NsKind, OwnedFd)>, Error> {
    plan.join
        .iter()
        .map(|(kind, path)| {
            let fd = nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                .step(|| format!("open {} namespace {}", kind.spec_name(), path.display()))?;
            Ok((*kind, fd))
        })
        .collect()
}

/// setns into one namespace given by descriptor.
pub fn enter(kind: NsKind, fd: &OwnedFd) -> nix::Result<()> {
    nix::sched::setns(fd.as_fd(), kind.clone_flag())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(json: &str) -> Vec<LinuxNamespace> {
        serde_json::from_str(json).expect("valid namespaces json")
    }

    #[test]
    fn orders_user_first_and_mount_last() {
        let plan = NamespacePlan::lower(&ns(
            r#"[{"type":"mount"},{"type":"pid"},{"type":"user"},{"type":"network","path":"/proc/1/ns/net"}]"#,
        ))
        .expect("lowers");
        assert_eq!(plan.new, vec![NsKind::User, NsKind::Pid, NsKind::Mount]);
        assert_eq!(plan.join.len(), 1);
        assert!(plan.has(NsKind::Net) && !plan.creates(NsKind::Net));
    }

    #[test]
    fn rejects_duplicates_and_relative_paths() {
        assert!(NamespacePlan::lower(&ns(r#"[{"type":"pid"},{"type":"pid"}]"#)).is_err());
        assert!(NamespacePlan::lower(&ns(r#"[{"type":"network","path":"x/y"}]"#)).is_err());
    }
}
