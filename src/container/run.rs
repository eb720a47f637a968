//! `run`: create and start in one process. Detached, it returns once the
//! program runs; in the foreground it forwards signals (and proxies the pty
//! when there is a terminal and no console socket), waits for the init, tears
//! the container down (unless --keep) and returns its exit status: the
//! program's code, or 128+N when signal N killed it.

use std::os::fd::{AsFd, BorrowedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::create::{create, CreateOptions, Created};
use super::{delete, start, Globals};
use crate::error::{Result, SysContext};
use crate::{signals, sys, tty};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub create: CreateOptions,
    pub detach: bool,
    pub keep: bool,
    pub no_subreaper: bool,
}

/// Returns the exit status rrun should exit with.
pub fn run(g: &Globals, o: &RunOptions) -> Result<i32> {
    if !o.detach && !o.no_subreaper {
        sys::set_child_subreaper().step(|| "become a subreaper")?;
    }
    let mut co = o.create.clone();
    co.detach = o.detach;
    let mut c = create(g, &co, false)?;
    let proxy = c.init.pty.is_some() && o.create.console_socket.is_none();
    c.init.release()?;
    if let Err(e) = start::poststart(&c.state) {
        finish(g, c, o.keep);
        return Err(e);
    }
    if o.detach {
        return Ok(0);
    }
    // Other commands (kill, delete) must not wait for us while it runs.
    c.dir.unlock();
    let code = wait_foreground(&c, proxy)?;
    finish(g, c, o.keep);
    Ok(code)
}

fn finish(g: &Globals, c: Created, keep: bool) {
    if keep {
        return;
    }
    let id = c.state.id.clone();
    drop(c.dir);
    // Re-take the lock; someone may have deleted the container meanwhile.
    let dir = match crate::state::StateDir::open(&g.root, &id) {
        Ok(d) => d,
        Err(_) => return,
    };
    if let Err(e) = delete::destroy(dir, &c.state) {
        crate::logging::warn(&format!("delete {id}: {e}"));
    }
}

fn wait_foreground(c: &Created, proxy: bool) -> Result<i32> {
    let sfd = signals::block_for_forwarding().step(|| "block signals for forwarding")?;
    let _raw = proxy.then(tty::RawMode::enter);
    let master = c.init.pty.as_ref().filter(|_| proxy);
    if let Some(m) = master {
        tty::sync_winsize(m.as_fd());
    }
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut stdin_open = proxy;
    loop {
        let mut fds = vec![
            PollFd::new(c.init.pidfd.as_fd(), PollFlags::POLLIN),
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
            return Ok(exit_code(c.init.pid));
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
fn forward(sig: i32, c: &Created, master: Option<BorrowedFd<'_>>) -> Option<i32> {
    match sig {
        libc::SIGCHLD => reap(c.init.pid),
        libc::SIGWINCH => {
            if let Some(m) = master {
                tty::sync_winsize(m);
            }
            None
        }
        sig => {
            let _ = sys::pidfd_send_signal(c.init.pidfd.as_fd(), sig);
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
