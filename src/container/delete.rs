//! `delete ID [--force]`: runc's rules. Stopped: destroy. Created: kill the
//! waiting init, then destroy. Running or paused: only with --force. A
//! container that does not exist is fine with --force (engines call
//! `delete --force` after `delete`). Destroy removes the cgroup (killing
//! strays), runs poststop hooks (failures are warnings) and the state dir.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::{load, Globals};
use crate::error::{Error, Result};
use crate::state::{State, StateDir, Status};
use crate::{hooks, state, sys};

pub fn delete(g: &Globals, id: &str, force: bool) -> Result<()> {
    state::validate_id(id)?;
    let (dir, st, status) = match load(g, id) {
        Ok(v) => v,
        Err(Error::NotExist) => {
            // An aborted create may have left a directory without state.json.
            let _ = std::fs::remove_dir_all(g.root.join(id));
            return if force { Ok(()) } else { Err(Error::NotExist) };
        }
        Err(e) => return Err(e),
    };
    match status {
        Status::Stopped => {}
        Status::Created => kill_and_wait(&st)?,
        _ if force => kill_and_wait(&st)?,
        _ => {
            return Err(Error::NotStopped {
                id: id.to_string(),
                status,
            })
        }
    }
    destroy(dir, &st)
}

/// SIGKILL the init (thawing a paused container) and wait for it to die.
pub(super) fn kill_and_wait(st: &State) -> Result<()> {
    let Ok(fd) = sys::pidfd_open(st.pid) else {
        return Ok(()); // already gone
    };
    if !st.init_alive() {
        return Ok(());
    }
    let _ = sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
    if st.cgroup.is_frozen() {
        let _ = st.cgroup.freeze(false);
    }
    // The init of a pid namespace stays in the kernel until every orphan
    // of its namespace has been reaped by the host's reaper (which may take
    // its time), but it has left its cgroups before that: that is dead
    // enough to remove them, as runc does.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        let exited = poll(&mut fds, PollTimeout::from(5u8)).unwrap_or(0) > 0;
        if exited || !st.init_alive() || left_its_cgroup(st) {
            // A zombie waiting for its parent to reap it is stopped.
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Other("container init still running".into()));
        }
    }
}

fn left_its_cgroup(st: &State) -> bool {
    st.cgroup.procs_dir().is_some() && st.cgroup.pids().is_ok_and(|p| !p.contains(&st.pid))
}

pub fn destroy(dir: StateDir, st: &State) -> Result<()> {
    let cg = st.cgroup.destroy();
    run_poststop(st);
    dir.remove()?;
    cg.map_err(Error::from)
}

/// poststop hooks: every one runs; a failure is a warning.
pub fn run_poststop(st: &State) {
    if !st.poststop.is_empty() {
        let json = serde_json::to_string(&st.oci(Status::Stopped)).unwrap_or_default();
        hooks::run_phase_warn("poststop", &st.poststop, &json);
    }
}
