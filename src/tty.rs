//! Terminals from rrun's side: send the pty master to --console-socket (one
//! SCM_RIGHTS message, as containerd's shim expects), or for a foreground
//! `run`/`exec` without a socket, proxy it: our terminal in raw mode, bytes
//! copied both ways, window size on start and on SIGWINCH.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};

use crate::error::{Result, SysContext};
use crate::sys;

pub fn send_to_console_socket(path: &Path, master: BorrowedFd<'_>) -> Result<()> {
    let stream = UnixStream::connect(path)
        .step(|| format!("connect to console socket {}", path.display()))?;
    let name = b"/dev/ptmx";
    let iov = [IoSlice::new(name)];
    let fds = [master.as_raw_fd()];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .step(|| format!("send the pty master to {}", path.display()))?;
    Ok(())
}

/// Our stdin's terminal settings, restored when dropped.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Put stdin in raw mode if it is a terminal.
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

/// Copy our window size to the pty.
pub fn sync_winsize(master: BorrowedFd<'_>) {
    if let Ok(ws) = sys::get_winsize(std::io::stdin().as_fd()) {
        let _ = sys::set_winsize(master, &ws);
    }
}

/// Copy what is readable on `from` to `to`; false at end of file.
pub fn pump(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8192];
    match nix::unistd::read(from, &mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let mut off = 0;
            while off < n {
                match nix::unistd::write(to, &buf[off..n]) {
                    Ok(w) => off += w,
                    Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => continue,
                    Err(_) => return false,
                }
            }
            true
        }
    }
}
