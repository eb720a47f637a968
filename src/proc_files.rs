//! Verified access to procfs. Every write rrun makes to /proc (id maps,
//! sysctls, oom_score_adj, setgroups) goes through a /proc descriptor checked
//! to be a real procfs, opened beneath it without crossing mounts or following
//! magic links, and checked again on the opened file: a bind mount or symlink
//! planted by a container image cannot redirect it (2025 runc CVE class).

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};

use crate::sys;

#[derive(Debug)]
pub struct ProcRoot(OwnedFd);

impl ProcRoot {
    /// Open the procfs mounted at /proc, refusing anything else.
    pub fn open() -> nix::Result<Self> {
        let fd = nix::fcntl::open(
            "/proc",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        ensure_procfs(fd.as_fd())?;
        Ok(ProcRoot(fd))
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }

    /// Open `rel` (e.g. "self/oom_score_adj", "sys/net/ipv4/ip_forward")
    /// beneath this procfs and check the result is procfs too.
    pub fn open_file(&self, rel: &str, flags: OFlag) -> nix::Result<OwnedFd> {
        let path = CString::new(rel).map_err(|_| Errno::EINVAL)?;
        let fd = sys::openat2(
            self.0.as_fd(),
            &path,
            (flags | OFlag::O_NOFOLLOW).bits(),
            0,
            sys::RESOLVE_BENEATH | sys::RESOLVE_NO_MAGICLINKS | sys::RESOLVE_NO_XDEV,
        )?;
        ensure_procfs(fd.as_fd())?;
        Ok(fd)
    }

    /// Write `data` to a proc file in one write(2), as the kernel expects.
    pub fn write(&self, rel: &str, data: &[u8]) -> nix::Result<()> {
        let fd = self.open_file(rel, OFlag::O_WRONLY)?;
        let n = nix::unistd::write(&fd, data)?;
        if n != data.len() {
            return Err(Errno::EIO);
        }
        Ok(())
    }

    pub fn read(&self, rel: &str) -> nix::Result<Vec<u8>> {
        let fd = self.open_file(rel, OFlag::O_RDONLY)?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = nix::unistd::read(&fd, &mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    pub fn try_clone(&self) -> nix::Result<ProcRoot> {
        Ok(ProcRoot(sys::dup_above(self.0.as_fd(), 3)?))
    }
}

pub(crate) fn ensure_procfs(fd: BorrowedFd<'_>) -> nix::Result<()> {
    let st = fstatfs(fd)?;
    if st.filesystem_type() != PROC_SUPER_MAGIC {
        return Err(Errno::EXDEV);
    }
    Ok(())
}

/// A hexadecimal field of our own /proc/self/status ("SigIgn", "CapBnd"),
/// the file read once per process: rrun reads it on the host, before any
/// namespace (the plan), for values that do not change meanwhile.
pub fn self_status_mask(field: &str) -> Option<u64> {
    static STATUS: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let status = STATUS.get_or_init(|| read_text("/proc/self/status").ok());
    let line = status
        .as_deref()?
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    u64::from_str_radix(line.trim(), 16).ok()
}

/// Read a small text file of /proc or /sys with one large read (a std
/// read_to_string of a file whose size says 0 starts with 32-byte reads).
pub fn read_text(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The start time of a process (field 22 of /proc/<pid>/stat, clock ticks
/// since boot): with the pid it identifies a process across pid reuse.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = read_text(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// The process state letter (field 3 of /proc/<pid>/stat).
pub fn process_state(pid: i32) -> Option<char> {
    let stat = read_text(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().next()?.chars().next()
}

fn parse_start_time(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses: skip to the last ')'.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Fields after the name start at field 3 (state); starttime is field 22.
    after_comm.split_whitespace().nth(22 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_skips_tricky_command_names() {
        let stat = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start_time(stat), Some(987654));
    }

    #[test]
    fn own_start_time_is_readable() {
        let pid = std::process::id() as i32;
        assert!(start_time(pid).is_some());
        assert!(matches!(process_state(pid), Some('R' | 'S')));
    }

    #[test]
    fn proc_root_refuses_escape() {
        let proc = ProcRoot::open().expect("/proc is procfs");
        assert!(proc.read("self/status").is_ok());
        assert!(proc.open_file("../etc/passwd", OFlag::O_RDONLY).is_err());
    }
}
