//! tmpcopyup: copy what a directory held into the tmpfs mounted over it,
//! keeping modes and owners (files, directories, symlinks, device nodes).

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::dir::{Dir, Type};
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, Gid, Uid};

/// Copy up: the contents of `src` into `dst`, and `src`'s own mode and owner
/// onto `dst` (as runc does, the copied directory keeps its attributes).
pub fn copy_up(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> nix::Result<()> {
    copy_tree(src, dst)?;
    let st = nix::sys::stat::fstat(src)?;
    let dir = openat(
        dst,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    nix::sys::stat::fchmod(&dir, Mode::from_bits_truncate(st.st_mode & 0o7777))?;
    nix::unistd::fchown(
        &dir,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )
}

/// Copy the tree under `src` (an open directory) into `dst`.
pub fn copy_tree(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> nix::Result<()> {
    let dup = crate::sys::dup_above(src, 3)?;
    let mut dir = Dir::from_fd(dup)?;
    let names: Vec<(Vec<u8>, Option<Type>)> = dir
        .iter()
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_bytes().to_vec(), e.file_type()))
        .filter(|(n, _)| n != b"." && n != b"..")
        .collect();
    for (name, _) in names {
        copy_entry(src, dst, OsStr::from_bytes(&name))?;
    }
    Ok(())
}

fn copy_entry(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, name: &OsStr) -> nix::Result<()> {
    let st = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    match kind {
        SFlag::S_IFDIR => {
            mkdirat(dst, name, mode)?;
            let s = openat(
                src,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let d = openat(
                dst,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            copy_tree(s.as_fd(), d.as_fd())?;
        }
        SFlag::S_IFREG => copy_file(src, dst, name, mode)?,
        SFlag::S_IFLNK => {
            let target = nix::fcntl::readlinkat(src, name)?;
            nix::unistd::symlinkat(target.as_os_str(), dst, name)?;
        }
        _ => mknodat(dst, name, kind, mode, st.st_rdev)?,
    }
    fchownat(
        dst,
        name,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
}

fn copy_file(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    name: &OsStr,
    mode: Mode,
) -> nix::Result<()> {
    let from: OwnedFd = openat(
        src,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let to: OwnedFd = openat(
        dst,
        name,
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC,
        mode,
    )?;
    let mut from = std::fs::File::from(from);
    let mut to = std::fs::File::from(to);
    std::io::copy(&mut from, &mut to)
        .map_err(|e| e.raw_os_error().map_or(Errno::EIO, Errno::from_raw))?;
    Ok(())
}
