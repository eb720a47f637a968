//! In-root path resolution: every path inside the container's rootfs is
//! resolved with openat2(RESOLVE_IN_ROOT), so a symlink (even one swapped in
//! during setup) can never lead outside the rootfs (CVE-2021-30465 class).
//! Missing directories and mount targets are created relative to descriptors
//! that were themselves resolved in the root.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, fstatat, Mode, SFlag};

use crate::sys;

const IN_ROOT: u64 = sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS;

fn cstr(p: &Path) -> nix::Result<CString> {
    let bytes = p.as_os_str().as_bytes();
    let rel = if bytes.is_empty() || bytes == b"/" {
        b"."
    } else {
        bytes
    };
    CString::new(rel).map_err(|_| Errno::EINVAL)
}

/// Open `path` (absolute inside the container, or relative) under `root`.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    sys::openat2(root, &cstr(rel)?, flags.bits(), 0, IN_ROOT)
}

/// An O_PATH descriptor for `path` under `root`.
pub fn open_path(root: BorrowedFd<'_>, path: &Path) -> nix::Result<OwnedFd> {
    open_in_root(root, path, OFlag::O_PATH)
}

/// Create every missing directory of `path` under `root` and return an
/// O_PATH descriptor of the last one. The walk goes one component at a time
/// from a directory descriptor, never following a symlink blindly: a symlink
/// (even a dangling one) is read and its target walked from the root, and
/// ".." is resolved lexically, so the walk cannot leave the root.
pub fn mkdir_all(root: BorrowedFd<'_>, path: &Path, mode: u32) -> nix::Result<OwnedFd> {
    use std::collections::VecDeque;
    let mut pending: VecDeque<std::ffi::OsString> = components(path).collect();
    let mut cur_path = std::path::PathBuf::from("/");
    let mut cur = sys::dup_above(root, 3)?;
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            cur_path.pop();
            cur = open_in_root(root, &cur_path, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
            continue;
        }
        let st = match fstatat(cur.as_fd(), name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Some(st),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        let kind = st.map(|s| SFlag::from_bits_truncate(s.st_mode) & SFlag::S_IFMT);
        match kind {
            None => match nix::sys::stat::mkdirat(
                cur.as_fd(),
                name.as_os_str(),
                Mode::from_bits_truncate(mode),
            ) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            },
            Some(SFlag::S_IFLNK) => {
                links += 1;
                if links > 40 {
                    return Err(Errno::ELOOP);
                }
                let target = nix::fcntl::readlinkat(cur.as_fd(), name.as_os_str())?;
                let target = Path::new(&target);
                if target.is_absolute() {
                    cur_path = std::path::PathBuf::from("/");
                    cur = sys::dup_above(root, 3)?;
                }
                for (i, c) in components(target).enumerate() {
                    pending.insert(i, c);
                }
                continue;
            }
            Some(SFlag::S_IFDIR) => {}
            Some(_) => return Err(Errno::ENOTDIR),
        }
        cur = nix::fcntl::openat(
            cur.as_fd(),
            name.as_os_str(),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        cur_path.push(&name);
    }
    Ok(cur)
}

/// The names and ".." of a path ("." and the root dropped).
fn components(p: &Path) -> impl Iterator<Item = std::ffi::OsString> + '_ {
    p.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_os_string()),
        Component::ParentDir => Some("..".into()),
        _ => None,
    })
}

/// Make sure a mount target exists under `root` (a directory, or an empty
/// file when `file` is set) and return an O_PATH descriptor of it.
pub fn ensure_target(root: BorrowedFd<'_>, path: &Path, file: bool) -> nix::Result<OwnedFd> {
    match open_path(root, path) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    if !file {
        return match existing_parent(root, path)? {
            // A symlink at the name (ENOTDIR, ELOOP): walk it in the root.
            Some((dir, name)) => match make_dir_in(dir.as_fd(), name) {
                Err(Errno::ENOTDIR | Errno::ELOOP) => mkdir_all(root, path, 0o755),
                made => made,
            },
            None => mkdir_all(root, path, 0o755),
        };
    }
    let name = path.file_name().ok_or(Errno::EINVAL)?;
    // An O_PATH directory descriptor is a valid base for openat2.
    let dir = match existing_parent(root, path)? {
        Some((dir, _)) => dir,
        None => mkdir_all(root, path.parent().unwrap_or(Path::new("/")), 0o755)?,
    };
    let name = CString::new(name.as_bytes()).map_err(|_| Errno::EINVAL)?;
    match sys::openat2(
        dir.as_fd(),
        &name,
        (OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY).bits(),
        0o644,
        sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS,
    ) {
        Ok(_) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e),
    }
    open_path(root, path)
}

/// The common case of a missing target: its parent exists. Resolve the
/// parent in the root (one openat2) instead of walking every component;
/// None when the parent is missing too, or the last component is not a
/// plain name.
fn existing_parent<'p>(
    root: BorrowedFd<'_>,
    path: &'p Path,
) -> nix::Result<Option<(OwnedFd, &'p std::ffi::OsStr)>> {
    let (Some(parent), Some(Component::Normal(name))) =
        (path.parent(), path.components().next_back())
    else {
        return Ok(None);
    };
    match open_in_root(root, parent, OFlag::O_PATH | OFlag::O_DIRECTORY) {
        Ok(dir) => Ok(Some((dir, name))),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Create directory `name` in `dir` and open it, refusing a symlink there
/// (a dangling one is left to mkdir_all, which walks its target in the root).
fn make_dir_in(dir: BorrowedFd<'_>, name: &std::ffi::OsStr) -> nix::Result<OwnedFd> {
    match nix::sys::stat::mkdirat(dir, name, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e),
    }
    nix::fcntl::openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Is the descriptor a directory?
pub fn is_dir(fd: BorrowedFd<'_>) -> nix::Result<bool> {
    let st = fstat(fd)?;
    Ok(SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tempdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("rrun-resolve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("tempdir");
        d
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let root = tempdir("escape");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        // An absolute symlink pointing at the host's /tmp must land in root/tmp.
        symlink("/tmp", root.join("evil")).expect("symlink");
        let rootfd = nix::fcntl::open(&root, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())
            .expect("open root");
        let fd = mkdir_all(rootfd.as_fd(), Path::new("/evil/inside"), 0o755).expect("mkdir_all");
        assert!(is_dir(fd.as_fd()).expect("fstat"));
        assert!(root.join("tmp/inside").is_dir(), "created inside the root");
        assert!(!Path::new("/tmp/inside").exists() || root.starts_with("/tmp"));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_dangling_symlink_target_is_made_inside_the_root() {
        let root = tempdir("dangling");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        // The parent exists (the fast path), the name is a dangling link out.
        let outside = format!("/tmp/rrun-resolve-outside-{}", std::process::id());
        symlink(&outside, root.join("etc/link")).expect("symlink");
        let rootfd = nix::fcntl::open(&root, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())
            .expect("open root");
        let fd = ensure_target(rootfd.as_fd(), Path::new("/etc/link"), false).expect("target");
        assert!(is_dir(fd.as_fd()).expect("fstat"));
        assert!(root.join(&outside[1..]).is_dir(), "made inside the root");
        assert!(!Path::new(&outside).exists(), "nothing made outside");
        // A missing directory below an existing one: the fast path.
        ensure_target(rootfd.as_fd(), Path::new("/etc/new"), false).expect("target");
        assert!(root.join("etc/new").is_dir());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn creates_file_targets() {
        let root = tempdir("file");
        let rootfd = nix::fcntl::open(&root, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())
            .expect("open root");
        ensure_target(rootfd.as_fd(), Path::new("/a/b/file"), true).expect("target");
        assert!(root.join("a/b/file").is_file());
        let _ = std::fs::remove_dir_all(&root);
    }
}
