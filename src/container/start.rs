//! `start ID`: release a created container through its exec.sock (see
//! handshake.rs), then run the poststart hooks once the program runs. A
//! failing startContainer or poststart hook is an error; the container is
//! stopped and destroyed (lifecycle steps 12 and 13), as the spec says.

use super::{delete, load, Globals};
use crate::error::{Error, Result};
use crate::handshake::{self, Started};
use crate::hooks;
use crate::state::{State, StateDir, Status};

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
    match handshake::request_start(&dir.dir)? {
        Started::Ok(stream) => {
            let _ = std::fs::remove_file(dir.start_socket());
            // poststart hooks run once the program runs: the init's end of
            // the connection is close-on-exec.
            handshake::wait_exec(stream);
            if let Err(e) = poststart(&st) {
                stop_and_destroy(dir, &st);
                return Err(e);
            }
            Ok(())
        }
        Started::Failed(msg) => {
            stop_and_destroy(dir, &st);
            Err(Error::Hook(msg))
        }
    }
}

/// Run the poststart hooks (the caller stops the container if they fail).
pub fn poststart(st: &State) -> Result<()> {
    if st.poststart.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(&st.oci(Status::Running)).unwrap_or_default();
    hooks::run_phase("poststart", &st.poststart, &json).map_err(Error::Hook)
}

/// Kill the init, wait for it, and destroy the container.
pub fn stop_and_destroy(dir: StateDir, st: &State) {
    let _ = delete::kill_and_wait(st);
    let _ = delete::destroy(dir, st);
}
