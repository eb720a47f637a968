//! A process in the foreground (`run`, `exec` without --detach): forward
//! signals to it, proxy its pty when rrun holds the terminal, reap orphans
//! (rrun is a subreaper) and return its exit status (128+N for signal N).

use std::os::fd::{AsFd, BorrowedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Result, SysContext};
use crate::process::spawn::Spawned;
use crate::{signals, sys, tty};

/// Unless `detach`: block the signals a foreground process gets forwarded,
/// before it is started (as runc installs its handler before `run` starts
/// anything): one that arrives meanwhile is forwarded once it runs, instead
/// of killing rrun half-way.
pub fn catch_signals(detach: bool) -> Result<Option<SignalFd>> {
    if detach {
        return Ok(None);
    }
    let sfd = signals::block_for_forwarding().step(|| "block signals for forwarding")?;
    Ok(Some(sfd))
}

/// Wait for the process, forwarding the signals `sfd` receives
/// (`catch_signals`) and (with `proxy`) its pty.
pub fn wait(c: &Spawned, proxy: bool, sfd: SignalFd) -> Result<i32> {
    let _raw = proxy.then(tty::RawMode::enter);
    let master = c.pty.as_ref().filter(|_| proxy);
    if let Some(m) = master {
        tty::sync_winsize(m.as_fd());
    }
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut stdin_open = proxy;
    loop {
        let mut fds = vec![
            PollFd::new(c.pidfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        if let Some(m) = master {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(crate::error::Error::sys("poll", e)),
            Ok(_) => {}
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        if ready.get(2).copied().unwrap_or(false) {
            if let Some(m) = master {
                tty::pump(m.as_fd(), stdout.as_fd());
            }
        }
        if ready.get(3).copied().unwrap_or(false) {
            if let Some(m) = master {
                stdin_open = tty::pump(stdin.as_fd(), m.as_fd());
            }
        }
        if ready[1] {
            if let Ok(Some(info)) = sfd.read_signal() {
                if let Some(code) = forward(info.ssi_signo as i32, c, master.map(|m| m.as_fd())) {
                    drain(master);
                    return Ok(code);
                }
            }
        }
        if ready[0] {
            drain(master);
            return Ok(exit_code(c.pid));
        }
    }
}

/// Copy what the program printed before it exited.
fn drain(master: Option<&std::os::fd::OwnedFd>) {
    if let Some(m) = master {
        let stdout = std::io::stdout();
        while has_input(m.as_fd()) && tty::pump(m.as_fd(), stdout.as_fd()) {}
    }
}

fn has_input(fd: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).unwrap_or(0) > 0
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
}

/// Handle one signal; returns the exit code if it reaped the init.
fn forward(sig: i32, c: &Spawned, master: Option<BorrowedFd<'_>>) -> Option<i32> {
    match sig {
        libc::SIGCHLD => reap(c.pid),
        libc::SIGWINCH => {
            if let Some(m) = master {
                tty::sync_winsize(m);
            }
            None
        }
        sig => {
            let _ = sys::pidfd_send_signal(c.pidfd.as_fd(), sig);
            None
        }
    }
}

/// As a subreaper we inherit orphans: reap every exited child; if one of
/// them is the init, return its exit code.
fn reap(init: i32) -> Option<i32> {
    loop {
        match waitpid(
            Pid::from_raw(-1),
            Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL),
        ) {
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(s) if s.pid() == Some(Pid::from_raw(init)) => return Some(code_of(s)),
            Ok(_) => continue,
        }
    }
}

fn code_of(s: WaitStatus) -> i32 {
    match s {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
        _ => 255,
    }
}

fn exit_code(pid: i32) -> i32 {
    waitpid(Pid::from_raw(pid), None).map_or(255, code_of)
}
