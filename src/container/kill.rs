//! `kill ID [SIGNAL] [--all]`: signal the init through a pidfd after checking
//! it is still the process we started (start time), or every process of the
//! container's cgroup with --all (and for SIGKILL without a pid namespace).

use std::os::fd::AsFd;

use super::{load_shared, Globals};
use crate::error::{Error, Result};
use crate::state::{State, Status};
use crate::{signals, sys};

pub fn kill(g: &Globals, id: &str, signal: Option<&str>, all: bool) -> Result<()> {
    let sig = signals::parse(signal.unwrap_or("SIGTERM"))?;
    let (_dir, st, status) = load_shared(g, id)?;
    let whole_cgroup = all || (sig == libc::SIGKILL && !st.pid_ns);
    if status == Status::Stopped {
        if whole_cgroup {
            // Stray processes may remain in the cgroup; --all reaches them.
            st.cgroup.kill_all(sig)?;
            if all {
                return Ok(());
            }
        }
        return Err(Error::NotRunning);
    }
    if whole_cgroup {
        st.cgroup.kill_all(sig)?;
    } else {
        signal_init(&st, sig)?;
    }
    if sig == libc::SIGKILL && status == Status::Paused {
        st.cgroup.freeze(false)?;
    }
    Ok(())
}

/// Signal the init, refusing if its pid now belongs to another process.
pub fn signal_init(st: &State, sig: i32) -> Result<()> {
    let fd = sys::pidfd_open(st.pid).map_err(|_| Error::NotRunning)?;
    // The pidfd pins the process: check identity after opening it.
    if !st.init_alive() {
        return Err(Error::NotRunning);
    }
    sys::pidfd_send_signal(fd.as_fd(), sig)
        .map_err(|e| Error::sys(format!("send {} to the init", signals::name(sig)), e))
}
