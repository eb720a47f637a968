//! Cgroups: the container's cgroup directories on a v1, hybrid or pure v2
//! host (resolved from linux.cgroupsPath as runc does), their creation,
//! resource writes, placement of the init, freeze, kill-all, process listing
//! and removal. Writers take directories, so they are testable on a tempdir.

pub mod detect;
pub mod devices;
pub mod ebpf;
pub mod join;
pub mod resources;
pub mod stats;
pub mod view;

use std::path::{Path, PathBuf};
use std::time::Duration;

use detect::{host_path, own_cgroup, Layout};
use resources::{ResourcesPlan, Write};

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("cannot detect the cgroup layout: no cgroup filesystem is mounted")]
    NoCgroupfs,
    #[error("cannot find this process's cgroup for {0}")]
    NoOwnCgroup(String),
    #[error("create cgroup {path}: {cause}")]
    Create { path: String, cause: String },
    #[error("write {value:?} to {path}: {cause}")]
    Write {
        path: String,
        value: String,
        cause: String,
    },
    #[error("read {path}: {cause}")]
    Read { path: String, cause: String },
    #[error("open {path}: {cause}")]
    Open { path: String, cause: String },
    #[error("remove cgroup {path}: {cause}")]
    Remove { path: String, cause: String },
    #[error("{0}")]
    Unsupported(String),
}

impl CgroupError {
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        CgroupError::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

fn cause(e: &std::io::Error) -> String {
    crate::error::io_text(e)
}

/// One directory of the container's cgroup in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dir {
    /// v1 controllers of the hierarchy; empty for cgroup2.
    pub controllers: Vec<String>,
    /// Where the hierarchy is mounted on the host.
    pub mountpoint: PathBuf,
    /// The directory on the host.
    pub path: PathBuf,
}

impl Dir {
    pub fn is_v2(&self) -> bool {
        self.controllers.is_empty()
    }

    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

#[derive(Clone, Copy)]
enum Anchor {
    Own,
    OwnParent,
    Root,
}

/// The container's cgroup: one directory per hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cgroup {
    /// Pure cgroup v2 host.
    pub unified: bool,
    pub dirs: Vec<Dir>,
}

/// Turn a systemd-style "slice:prefix:name" into the cgroupfs path systemd
/// would use ("system.slice:docker:ID" -> "/system.slice/docker-ID.scope").
pub fn systemd_path(spec: &str) -> Option<PathBuf> {
    let mut parts = spec.splitn(3, ':');
    let (slice, prefix, name) = (parts.next()?, parts.next()?, parts.next()?);
    let mut path = PathBuf::from("/");
    if !slice.is_empty() && slice != "-.slice" {
        // "a-b-c.slice" lives in /a.slice/a-b.slice/a-b-c.slice.
        let stem = slice.strip_suffix(".slice")?;
        let mut acc = String::new();
        for (i, part) in stem.split('-').enumerate() {
            if i > 0 {
                acc.push('-');
            }
            acc.push_str(part);
            path.push(format!("{acc}.slice"));
        }
    }
    let unit = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    if name.ends_with(".slice") {
        path.push(name);
    } else {
        path.push(unit);
    }
    Some(path)
}

impl Cgroup {
    /// Resolve the container's directories. An absolute path is taken from
    /// each hierarchy's root; a relative or empty one (then the container id)
    /// from this process's own cgroup in that hierarchy, as runc does.
    pub fn resolve(layout: &Layout, cgroups_path: &str, id: &str) -> Result<Cgroup, CgroupError> {
        let inner = if cgroups_path.is_empty() {
            PathBuf::from(id)
        } else if cgroups_path.contains(':') && !cgroups_path.starts_with('/') {
            systemd_path(cgroups_path).ok_or_else(|| {
                CgroupError::invalid(
                    "linux.cgroupsPath",
                    format!("{cgroups_path:?} is not slice:prefix:name"),
                )
            })?
        } else {
            PathBuf::from(cgroups_path)
        };
        if inner
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(CgroupError::invalid(
                "linux.cgroupsPath",
                "must not contain \"..\"",
            ));
        }
        // How a relative path is anchored differs per hierarchy, as in runc:
        // v1 below our own cgroup, pure v2 below its parent, and the cgroup2
        // part of a hybrid host at the hierarchy's root.
        let dir = |controllers: Vec<String>, mountpoint: &Path, root: &Path, anchor: Anchor| {
            let cgroup = if inner.is_absolute() {
                inner.clone()
            } else {
                let base = match anchor {
                    Anchor::Root => PathBuf::from("/"),
                    Anchor::Own | Anchor::OwnParent => {
                        let own = own_cgroup(&controllers)
                            .ok_or_else(|| CgroupError::NoOwnCgroup(controllers.join(",")))?;
                        match anchor {
                            Anchor::OwnParent => own.parent().map(Path::to_path_buf).unwrap_or(own),
                            _ => own,
                        }
                    }
                };
                base.join(&inner)
            };
            Ok::<Dir, CgroupError>(Dir {
                path: host_path(mountpoint, root, &cgroup),
                mountpoint: mountpoint.to_path_buf(),
                controllers,
            })
        };
        match layout {
            Layout::Unified { mountpoint, root } => Ok(Cgroup {
                unified: true,
                dirs: vec![dir(Vec::new(), mountpoint, root, Anchor::OwnParent)?],
            }),
            Layout::Legacy {
                hierarchies,
                unified,
            } => {
                let mut dirs = Vec::new();
                for h in hierarchies {
                    dirs.push(dir(
                        h.controllers.clone(),
                        &h.mountpoint,
                        &h.root,
                        Anchor::Own,
                    )?);
                }
                if let Some((mountpoint, root)) = unified {
                    dirs.push(dir(Vec::new(), mountpoint, root, Anchor::Root)?);
                }
                Ok(Cgroup {
                    unified: false,
                    dirs,
                })
            }
        }
    }

    /// The cgroup2 directory (pure v2, or the unified part of a hybrid host).
    pub fn v2_dir(&self) -> Option<&Dir> {
        self.dirs.iter().find(|d| d.is_v2())
    }

    pub(super) fn v1_dir(&self, controller: &str) -> Option<&Dir> {
        self.dirs.iter().find(|d| d.has(controller))
    }

    /// The directory whose cgroup.procs lists the container's processes.
    pub fn procs_dir(&self) -> Option<&Dir> {
        if self.unified {
            return self.v2_dir();
        }
        ["pids", "freezer", "memory", "devices", "cpu"]
            .iter()
            .find_map(|c| self.v1_dir(c))
            .or_else(|| self.dirs.first())
    }

    /// Create every directory (and seed v1 cpuset from its parent).
    pub fn create(&self) -> Result<(), CgroupError> {
        for d in &self.dirs {
            create_dir(&d.path)?;
            if d.has("cpuset") {
                seed_cpuset(&d.mountpoint, &d.path)?;
            }
        }
        if self.unified {
            if let Some(d) = self.v2_dir() {
                enable_controllers(&d.mountpoint, &d.path)?;
            }
        }
        Ok(())
    }

    /// Apply lowered resources. Device rules on v1 go to devices.{allow,deny};
    /// on v2 they become an eBPF device program (ebpf.rs).
    pub fn apply(&self, plan: &ResourcesPlan) -> Result<(), CgroupError> {
        if self.unified {
            let Some(d) = self.v2_dir() else {
                return Ok(());
            };
            for wr in &plan.v2 {
                write_file(&d.path, &wr.file, &wr.value)?;
            }
            if let Some(rules) = &plan.devices {
                ebpf::attach(&d.path, rules)?;
            }
            return Ok(());
        }
        for wr in &plan.v1 {
            self.write_v1(wr, plan)?;
        }
        if let Some(rules) = &plan.devices {
            if let Some(d) = self.v1_dir("devices") {
                write_device_rules(&d.path, rules)?;
            }
        }
        Ok(())
    }

    fn write_v1(&self, wr: &Write, plan: &ResourcesPlan) -> Result<(), CgroupError> {
        if let Some(d) = self.v1_dir(wr.controller) {
            return write_file(&d.path, &wr.file, &wr.value);
        }
        // Hybrid hosts may bind a controller (hugetlb here) to cgroup2 only.
        if let Some(d) = self.v2_dir() {
            if controller_available(d, wr.controller) {
                for v2 in plan.v2.iter().filter(|v| v.controller == wr.controller) {
                    enable_controller_to(&d.mountpoint, &d.path, wr.controller)?;
                    write_file(&d.path, &v2.file, &v2.value)?;
                }
                return Ok(());
            }
        }
        Err(CgroupError::Unsupported(format!(
            "cannot set {}: the {} controller is not mounted on this host",
            wr.file, wr.controller
        )))
    }

    /// Put process `pid` into every directory.
    pub fn place(&self, pid: i32) -> Result<(), CgroupError> {
        for d in &self.dirs {
            let result = write_file(&d.path, "cgroup.procs", &pid.to_string());
            if !self.best_effort(d) {
                result?;
            }
        }
        Ok(())
    }

    /// As runc: joining a named v1 hierarchy (or misc) or the cgroup2 part
    /// of a hybrid host may fail without failing the container.
    pub fn best_effort(&self, d: &Dir) -> bool {
        if d.is_v2() {
            return !self.unified;
        }
        d.controllers
            .iter()
            .all(|c| c.starts_with("name=") || c == "misc")
    }

    /// Every process in the container's cgroup and its descendants.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let Some(d) = self.procs_dir() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        collect_pids(&d.path, &mut out)?;
        Ok(out)
    }

    pub fn freeze(&self, frozen: bool) -> Result<(), CgroupError> {
        if let Some(d) = self.v1_dir("freezer") {
            let want = if frozen { "FROZEN" } else { "THAWED" };
            for _ in 0..1000 {
                write_file(&d.path, "freezer.state", want)?;
                if read_file(&d.path, "freezer.state")?.trim() == want {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            return Err(CgroupError::Unsupported(format!(
                "{}: did not become {want}",
                d.path.display()
            )));
        }
        if let Some(d) = self.v2_dir().filter(|_| self.unified) {
            write_file(&d.path, "cgroup.freeze", if frozen { "1" } else { "0" })?;
            let want = if frozen { "frozen 1" } else { "frozen 0" };
            for _ in 0..1000 {
                if read_file(&d.path, "cgroup.events")?
                    .lines()
                    .any(|l| l == want)
                {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            return Err(CgroupError::Unsupported(format!(
                "{}: did not reach {want}",
                d.path.display()
            )));
        }
        Err(CgroupError::Unsupported(
            "no freezer controller on this host".into(),
        ))
    }

    pub fn is_frozen(&self) -> bool {
        if let Some(d) = self.v1_dir("freezer") {
            return read_file(&d.path, "freezer.state").is_ok_and(|s| s.trim() == "FROZEN");
        }
        if let Some(d) = self.v2_dir().filter(|_| self.unified) {
            return read_file(&d.path, "cgroup.freeze").is_ok_and(|s| s.trim() == "1");
        }
        false
    }

    pub fn can_freeze(&self) -> bool {
        self.v1_dir("freezer").is_some() || self.unified
    }

    /// Signal every process of the container: cgroup.kill on v2 for SIGKILL,
    /// otherwise freeze, signal each process, thaw (so none can fork away).
    pub fn kill_all(&self, sig: i32) -> Result<(), CgroupError> {
        if sig == libc::SIGKILL && self.unified {
            if let Some(d) = self.v2_dir() {
                if d.path.join("cgroup.kill").exists() {
                    return write_file(&d.path, "cgroup.kill", "1");
                }
            }
        }
        let frozen = self.can_freeze() && self.freeze(true).is_ok();
        let result = self.pids().map(|pids| {
            for pid in pids {
                // SAFETY-free: plain kill; a process that vanished is fine.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::try_from(sig).ok(),
                );
            }
        });
        if frozen {
            self.freeze(false)?;
        }
        result
    }

    /// Remove every directory (children first). Stray processes are killed
    /// first so that the removal cannot fail with EBUSY for long.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut last = Ok(());
        for attempt in 0..50 {
            last = self.remove_dirs();
            if last.is_ok() {
                return Ok(());
            }
            if attempt == 0 || attempt % 10 == 0 {
                let _ = self.kill_all(libc::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(2 + attempt));
        }
        last
    }

    fn remove_dirs(&self) -> Result<(), CgroupError> {
        let mut first_err = None;
        for d in &self.dirs {
            if d.path == d.mountpoint {
                continue; // never remove a hierarchy's root
            }
            if let Err(e) = remove_tree(&d.path) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

pub fn write_file(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|e| write_error(&path, value, &e))
}

fn write_error(path: &Path, value: &str, e: &std::io::Error) -> CgroupError {
    // cgroupfs refuses to create a file it lacks (EACCES/EPERM): say what
    // that means rather than "permission denied".
    let cause = if path.exists() {
        cause(e)
    } else {
        "this kernel's cgroup has no such file (the setting is not supported on this host)"
            .to_string()
    };
    CgroupError::Write {
        path: path.display().to_string(),
        value: value.to_string(),
        cause,
    }
}

/// v1 device rules, in order: one write(2) per rule (the kernel parses one
/// rule per write) through one descriptor per file, devices.allow and
/// devices.deny, instead of an open and close around each.
fn write_device_rules(dir: &Path, rules: &[devices::DeviceRule]) -> Result<(), CgroupError> {
    use std::io::Write as _;
    let mut files: Vec<(&'static str, std::fs::File)> = Vec::with_capacity(2);
    for rule in rules {
        let (name, line) = (rule.v1_file(), rule.v1_line());
        let failed = |e: std::io::Error| write_error(&dir.join(name), &line, &e);
        let i = match files.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(dir.join(name))
                    .map_err(failed)?;
                files.push((name, f));
                files.len() - 1
            }
        };
        files[i].1.write_all(line.as_bytes()).map_err(failed)?;
    }
    Ok(())
}

pub fn read_file(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    crate::proc_files::read_text(&path).map_err(|e| CgroupError::Read {
        path: path.display().to_string(),
        cause: cause(&e),
    })
}

fn create_dir(path: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(path).map_err(|e| CgroupError::Create {
        path: path.display().to_string(),
        cause: cause(&e),
    })
}

/// A new v1 cpuset cgroup starts with empty cpus and mems: copy them down
/// from the nearest ancestor, as runc does.
fn seed_cpuset(mountpoint: &Path, dir: &Path) -> Result<(), CgroupError> {
    let mut chain = Vec::new();
    let mut cur = dir;
    while cur != mountpoint {
        chain.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) if p.starts_with(mountpoint) => cur = p,
            _ => break,
        }
    }
    for d in chain.iter().rev() {
        let Some(parent) = d.parent() else { continue };
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if read_file(d, file)?.trim().is_empty() {
                let value = read_file(parent, file)?;
                write_file(d, file, value.trim())?;
            }
        }
    }
    Ok(())
}

fn controller_available(d: &Dir, controller: &str) -> bool {
    read_file(&d.mountpoint, "cgroup.controllers")
        .is_ok_and(|s| s.split_whitespace().any(|c| c == controller))
}

/// Enable `controller` in cgroup.subtree_control from the root down to the
/// parent of `dir`.
fn enable_controller_to(
    mountpoint: &Path,
    dir: &Path,
    controller: &str,
) -> Result<(), CgroupError> {
    let mut cur = mountpoint.to_path_buf();
    let rel = dir.strip_prefix(mountpoint).unwrap_or(Path::new(""));
    for comp in rel.components() {
        let enabled = read_file(&cur, "cgroup.subtree_control")?;
        if !enabled.split_whitespace().any(|c| c == controller) {
            write_file(&cur, "cgroup.subtree_control", &format!("+{controller}"))?;
        }
        cur.push(comp);
    }
    Ok(())
}

/// On pure v2, enable every available controller down to the container's
/// parent so that its resource files exist.
fn enable_controllers(mountpoint: &Path, dir: &Path) -> Result<(), CgroupError> {
    let available = read_file(mountpoint, "cgroup.controllers")?;
    for c in available.split_whitespace() {
        // A controller that cannot be enabled (e.g. cpu with RT threads at
        // the root) is skipped: its files will be missing, and a write to
        // them will name the problem.
        let _ = enable_controller_to(mountpoint, dir, c);
    }
    Ok(())
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    let text = read_file(dir, "cgroup.procs")?;
    out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_pids(&e.path(), out)?;
            }
        }
    }
    Ok(())
}

fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    // Most containers make no sub-cgroups: try the directory alone first.
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path())?;
            }
        }
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CgroupError::Remove {
            path: dir.display().to_string(),
            cause: cause(&e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_paths() {
        assert_eq!(
            systemd_path("system.slice:docker:abc"),
            Some(PathBuf::from("/system.slice/docker-abc.scope"))
        );
        assert_eq!(
            systemd_path("a-b.slice:crio:x"),
            Some(PathBuf::from("/a.slice/a-b.slice/crio-x.scope"))
        );
        assert_eq!(systemd_path("nocolon"), None);
    }

    #[test]
    fn writes_and_cpuset_seed_on_a_tempdir() {
        let root = std::env::temp_dir().join(format!("rrun-cg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let child = root.join("a/b");
        std::fs::create_dir_all(&child).expect("mkdir");
        for d in [&root, &root.join("a"), &child] {
            std::fs::write(d.join("cpuset.cpus"), "").expect("seed");
            std::fs::write(d.join("cpuset.mems"), "").expect("seed");
        }
        std::fs::write(root.join("cpuset.cpus"), "0-1\n").expect("seed");
        std::fs::write(root.join("cpuset.mems"), "0\n").expect("seed");
        seed_cpuset(&root, &child).expect("seeds");
        assert_eq!(read_file(&child, "cpuset.cpus").expect("read"), "0-1");
        assert_eq!(
            read_file(&root.join("a"), "cpuset.mems").expect("read"),
            "0"
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
