//! `start ID`: release a created container through exec.fifo, then run the
//! poststart hooks (a failing one stops the container, as runc does).

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::{load, Globals};
use crate::error::{Error, Result};
use crate::state::{State, Status};
use crate::{hooks, sys};

pub fn start(g: &Globals, id: &str) -> Result<()> {
    let (dir, st, status) = load(g, id)?;
    match status {
        Status::Created => {}
        Status::Stopped => {
            return Err(Error::Other(
                "cannot start a container that has stopped".into(),
            ))
        }
        Status::Running => {
            return Err(Error::Other(
                "cannot start an already running container".into(),
            ))
        }
        other => {
            return Err(Error::Other(format!(
                "cannot start a container in the {other} state"
            )))
        }
    }
    let fifo = dir.fifo();
    let fd = nix::fcntl::open(
        &fifo,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        // No reader: the init is gone.
        Errno::ENXIO => Error::Other("cannot start container: its init process has exited".into()),
        e => Error::sys(format!("open {}", fifo.display()), e),
    })?;
    nix::unistd::write(&fd, b"0").map_err(|e| Error::sys("write exec.fifo", e))?;
    let _ = std::fs::remove_file(&fifo);
    // poststart hooks run once the program runs: the init's read end of the
    // fifo is close-on-exec, so our write end reports an error exactly when
    // the init has executed the program (or died).
    wait_until_closed(fd.as_fd(), st.pid);
    poststart(&st)
}

/// Wait until the other end of `fd` is closed, or process `pid` is gone.
pub fn wait_until_closed(fd: std::os::fd::BorrowedFd<'_>, pid: i32) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let pidfd = sys::pidfd_open(pid).ok();
    loop {
        let mut fds = vec![PollFd::new(fd, PollFlags::empty())];
        if let Some(p) = &pidfd {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(_) => return,
            Ok(_) => {}
        }
        if fds
            .iter()
            .any(|f| f.revents().is_some_and(|r| !r.is_empty()))
        {
            return;
        }
    }
}

/// Run poststart hooks; on failure kill the container and fail.
pub fn poststart(st: &State) -> Result<()> {
    if st.poststart.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(&st.oci(Status::Running)).unwrap_or_default();
    if let Err(e) = hooks::run_phase("poststart", &st.poststart, &json) {
        if let Ok(fd) = sys::pidfd_open(st.pid) {
            if st.init_alive() {
                let _ = sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
            }
        }
        return Err(Error::Hook(e));
    }
    Ok(())
}
