//! The container's terminal: a pty from the container's own devpts, its
//! peer made the process's stdio and controlling terminal, the master sent
//! to rrun over the sync socket (rrun passes it on to --console-socket, or
//! proxies it for a foreground run). For the init, the peer is also
//! bind-mounted on /dev/console.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;

use super::sync::{Msg, SyncSocket};
use crate::error::{AtStep, StepError};
use crate::rootfs::{mount as m, resolve};
use crate::sys;

/// The init's terminal (after pivot_root, `root` is the container's /).
pub fn setup(
    root: BorrowedFd<'_>,
    sync: &SyncSocket,
    size: Option<(u16, u16)>,
) -> Result<(), StepError> {
    let master = resolve::open_in_root(
        root,
        Path::new("/dev/ptmx"),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
    )
    .at(|| "open /dev/ptmx")?;
    sys::unlockpt(master.as_fd()).at(|| "unlock pty")?;
    // The peer by ioctl, not by a path a container could have replaced.
    let peer = sys::pty_peer(master.as_fd()).at(|| "open pty peer")?;
    let console = resolve::ensure_target(root, Path::new("/dev/console"), true)
        .at(|| "create /dev/console")?;
    let tree =
        m::clone_tree(peer.as_fd(), Path::new(""), false).at(|| "bind the pty on /dev/console")?;
    m::attach(&tree, &console).at(|| "bind the pty on /dev/console")?;
    install(master, peer, sync, size)
}

/// A terminal without /dev/console (exec).
pub fn make_stdio(
    master: OwnedFd,
    sync: &SyncSocket,
    size: Option<(u16, u16)>,
) -> Result<(), StepError> {
    sys::unlockpt(master.as_fd()).at(|| "unlock pty")?;
    let peer = sys::pty_peer(master.as_fd()).at(|| "open pty peer")?;
    install(master, peer, sync, size)
}

fn install(
    master: OwnedFd,
    peer: OwnedFd,
    sync: &SyncSocket,
    size: Option<(u16, u16)>,
) -> Result<(), StepError> {
    if let Some((rows, cols)) = size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        sys::set_winsize(peer.as_fd(), &ws).at(|| "set console size")?;
    }
    sync.send_with_fd(&Msg::Pty, Some(master.as_fd()))
        .at(|| "send the pty master")?;
    nix::unistd::dup2_stdin(&peer).at(|| "make the pty stdin")?;
    nix::unistd::dup2_stdout(&peer).at(|| "make the pty stdout")?;
    nix::unistd::dup2_stderr(&peer).at(|| "make the pty stderr")?;
    sys::set_controlling_tty(std::io::stdin().as_fd()).at(|| "set controlling terminal")
}
