//! User namespace id maps: lowered from uidMappings/gidMappings into the text
//! the kernel reads, and written by the parent into /proc/<pid>/{uid,gid}_map
//! while the child waits.

use oci_spec::runtime::LinuxIdMapping;

use crate::error::{Error, SysContext};
use crate::proc_files::ProcRoot;
use crate::spec::SpecError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMaps {
    /// Text for uid_map ("container host size" lines).
    pub uid_map: String,
    pub gid_map: String,
    /// Write "deny" to setgroups first (needed when an unprivileged writer maps gids).
    pub deny_setgroups: bool,
}

impl IdMaps {
    pub fn lower(
        uids: &[LinuxIdMapping],
        gids: &[LinuxIdMapping],
        deny_setgroups: bool,
    ) -> Result<Self, SpecError> {
        Ok(IdMaps {
            uid_map: map_text("linux.uidMappings", uids)?,
            gid_map: map_text("linux.gidMappings", gids)?,
            deny_setgroups,
        })
    }

    /// Write the maps of process `pid`: directly as root (or for the single
    /// own-id mapping an unprivileged user may write), else through the
    /// setuid newuidmap/newgidmap helpers that check /etc/subuid and /etc/subgid.
    pub fn write(&self, proc: &ProcRoot, pid: i32) -> Result<(), Error> {
        if !nix::unistd::geteuid().is_root() {
            return self.write_unprivileged(proc, pid);
        }
        self.write_direct(proc, pid)
    }

    fn write_direct(&self, proc: &ProcRoot, pid: i32) -> Result<(), Error> {
        if self.deny_setgroups {
            proc.write(&format!("{pid}/setgroups"), b"deny")
                .step(|| "write setgroups deny")?;
        }
        if !self.uid_map.is_empty() {
            proc.write(&format!("{pid}/uid_map"), self.uid_map.as_bytes())
                .step(|| format!("write uid_map {:?}", self.uid_map.trim_end()))?;
        }
        if !self.gid_map.is_empty() {
            proc.write(&format!("{pid}/gid_map"), self.gid_map.as_bytes())
                .step(|| format!("write gid_map {:?}", self.gid_map.trim_end()))?;
        }
        Ok(())
    }
}

impl IdMaps {
    fn write_unprivileged(&self, proc: &ProcRoot, pid: i32) -> Result<(), Error> {
        let own = |map: &str, id: u32| {
            let lines: Vec<&str> = map.lines().collect();
            lines.len() == 1
                && lines[0].split_whitespace().nth(1) == Some(id.to_string().as_str())
                && lines[0].split_whitespace().nth(2) == Some("1")
        };
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        if own(&self.uid_map, uid) && own(&self.gid_map, gid) {
            // The kernel lets us map ourselves, once setgroups is denied.
            let direct = IdMaps {
                deny_setgroups: true,
                ..self.clone()
            };
            return direct.write_direct(proc, pid);
        }
        helper("newuidmap", pid, &self.uid_map)?;
        helper("newgidmap", pid, &self.gid_map)
    }
}

/// newuidmap/newgidmap PID ID HOSTID SIZE...
fn helper(tool: &str, pid: i32, map: &str) -> Result<(), Error> {
    let mut cmd = std::process::Command::new(tool);
    cmd.arg(pid.to_string()).args(map.split_whitespace());
    let out = cmd.output().map_err(|e| {
        Error::Other(format!(
            "{tool}: {} (install Debian's uidmap package)",
            crate::error::io_text(&e)
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Other(format!(
            "{tool} {pid} {}: {}",
            map.split_whitespace().collect::<Vec<_>>().join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn map_text(field: &str, maps: &[LinuxIdMapping]) -> Result<String, SpecError> {
    let mut text = String::new();
    for (i, m) in maps.iter().enumerate() {
        if m.size() == 0 {
            return Err(SpecError::invalid(
                format!("{field}[{i}].size"),
                "must be greater than zero",
            ));
        }
        for (j, other) in maps.iter().enumerate().take(i) {
            if overlaps(
                m.container_id(),
                other.container_id(),
                m.size(),
                other.size(),
            ) || overlaps(m.host_id(), other.host_id(), m.size(), other.size())
            {
                return Err(SpecError::invalid(
                    format!("{field}[{i}]"),
                    format!("range overlaps {field}[{j}]"),
                ));
            }
        }
        text.push_str(&format!(
            "{} {} {}\n",
            m.container_id(),
            m.host_id(),
            m.size()
        ));
    }
    Ok(text)
}

fn overlaps(a: u32, b: u32, alen: u32, blen: u32) -> bool {
    let (a, b, alen, blen) = (a as u64, b as u64, alen as u64, blen as u64);
    a < b + blen && b < a + alen
}

/// Map a container id to the host through a map text (for chown of devices, etc.).
pub fn to_host(map: &str, id: u32) -> Option<u32> {
    map.lines().find_map(|line| {
        let mut it = line.split_whitespace().map(|v| v.parse::<u32>().ok());
        let (c, h, n) = (it.next()??, it.next()??, it.next()??);
        (id >= c && (id - c) < n).then(|| h + (id - c))
    })
}

/// The (uid_map, gid_map) of the user namespace at `path`, as its parent
/// namespace sees them: read from /proc/<pid>/ when the path names a
/// process, else by a child that joins the namespace and reads its own.
pub fn mappings_of(path: &std::path::Path) -> Result<(String, String), Error> {
    let text = path.to_string_lossy();
    let pid = text
        .strip_prefix("/proc/")
        .and_then(|rest| rest.strip_suffix("/ns/user"))
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if let Some(pid) = pid {
        let read = |f: &str| {
            let file = format!("/proc/{pid}/{f}");
            std::fs::read_to_string(&file).step(|| format!("read {file}"))
        };
        return Ok((read("uid_map")?, read("gid_map")?));
    }
    read_maps_inside(path)
}

fn read_maps_inside(path: &std::path::Path) -> Result<(String, String), Error> {
    use std::io::{Read, Write};
    let ns =
        std::fs::File::open(path).step(|| format!("open user namespace {}", path.display()))?;
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).step(|| "pipe")?;
    match crate::sys::clone3(0, false, None).step(|| "fork to read user namespace maps")? {
        crate::sys::Forked::Child => {
            drop(r);
            let mut out = std::fs::File::from(w);
            let ok = nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWUSER).is_ok();
            let maps = ["/proc/self/uid_map", "/proc/self/gid_map"]
                .map(|f| std::fs::read_to_string(f).unwrap_or_default());
            let _ = write!(out, "{}\0{}", maps[0], maps[1]);
            crate::sys::exit_now(if ok { 0 } else { 1 })
        }
        crate::sys::Forked::Parent { pid, .. } => {
            drop(w);
            let mut text = String::new();
            let _ = std::fs::File::from(r).read_to_string(&mut text);
            let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            let joined = matches!(status, Ok(nix::sys::wait::WaitStatus::Exited(_, 0)));
            match text.split_once('\0') {
                Some((u, g)) if joined => Ok((u.to_string(), g.to_string())),
                _ => Err(Error::Other(format!(
                    "cannot read the id maps of user namespace {}",
                    path.display()
                ))),
            }
        }
    }
}

/// Is this process in a user namespace other than the initial one (whose
/// uid_map is the identity over the whole range)?
pub fn running_in_user_ns() -> bool {
    // Asked by the default root, the rootless check and the device filter:
    // read once per process.
    static IN_USERNS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IN_USERNS.get_or_init(|| {
        crate::proc_files::read_text("/proc/self/uid_map")
            .is_ok_and(|m| !same_maps(&m, "0 0 4294967295"))
    })
}

/// Is rrun running without the host's root privileges: as an ordinary
/// user, or as root of a user namespace (runc's rootless rule)?
pub fn rootless_caller() -> bool {
    !nix::unistd::geteuid().is_root() || running_in_user_ns()
}

/// Do two map texts hold the same ranges in the same order?
pub fn same_maps(a: &str, b: &str) -> bool {
    let nums = |t: &str| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    nums(a) == nums(b)
}

/// A user namespace with these maps, held by a descriptor (for idmapped
/// mounts): a child is cloned into a new user namespace, its maps are
/// written, its /proc/<pid>/ns/user is opened, and it exits.
pub fn userns_fd(maps: &IdMaps, proc: &ProcRoot) -> Result<std::os::fd::OwnedFd, Error> {
    use std::os::fd::AsFd;
    let (hold_r, hold_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).step(|| "pipe")?;
    let flags = nix::sched::CloneFlags::CLONE_NEWUSER.bits() as u64;
    match crate::sys::clone3(flags, false, None)
        .step(|| "clone a user namespace for an idmapped mount")?
    {
        crate::sys::Forked::Child => {
            drop(hold_w);
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(hold_r.as_fd(), &mut b);
            crate::sys::exit_now(0)
        }
        crate::sys::Forked::Parent { pid, .. } => {
            drop(hold_r);
            let result = maps.write(proc, pid).and_then(|_| {
                let path = format!("/proc/{pid}/ns/user");
                nix::fcntl::open(
                    path.as_str(),
                    nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                )
                .step(|| format!("open {path}"))
            });
            drop(hold_w);
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(json: &str) -> Vec<LinuxIdMapping> {
        serde_json::from_str(json).expect("valid mapping json")
    }

    #[test]
    fn writes_several_ranges() {
        let m = maps(
            r#"[{"containerID":0,"hostID":1000,"size":1},{"containerID":1,"hostID":100000,"size":65536}]"#,
        );
        let ids = IdMaps::lower(&m, &m, false).expect("lowers");
        assert_eq!(ids.uid_map, "0 1000 1\n1 100000 65536\n");
        assert_eq!(to_host(&ids.uid_map, 5), Some(100004));
        assert_eq!(to_host(&ids.uid_map, 70000), None);
    }

    #[test]
    fn rejects_overlaps_and_empty_ranges() {
        let m = maps(
            r#"[{"containerID":0,"hostID":1000,"size":10},{"containerID":5,"hostID":5000,"size":1}]"#,
        );
        assert!(IdMaps::lower(&m, &[], false).is_err());
        let z = maps(r#"[{"containerID":0,"hostID":1000,"size":0}]"#);
        assert!(IdMaps::lower(&z, &[], false).is_err());
    }
}
