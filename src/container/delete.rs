//! `delete ID [--force]`: runc's rules. Stopped: destroy. Created: kill the
//! waiting init, then destroy. Running or paused: only with --force. A
//! container that does not exist is fine with --force (engines call
//! `delete --force` after `delete`). Destroy removes the cgroup (killing
//! strays), runs poststop hooks (failures are warnings) and the state dir.

use std::os::fd::AsFd;
use std::time::Duration;

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
fn kill_and_wait(st: &State) -> Result<()> {
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
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    let ready = poll(&mut fds, PollTimeout::from(10_000u16)).unwrap_or(0);
    if ready == 0 && st.init_alive() {
        return Err(Error::Other("container init still running".into()));
    }
    // The init may linger as a zombie until its parent reaps it; that is stopped.
    std::thread::sleep(Duration::from_millis(0));
    Ok(())
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
