//! `pause ID` / `resume ID`: freeze and thaw the container's cgroup.

use super::{load_shared, Globals};
use crate::error::{Error, Result};
use crate::state::Status;

pub fn pause(g: &Globals, id: &str) -> Result<()> {
    let (_dir, st, status) = load_shared(g, id)?;
    match status {
        Status::Running | Status::Created => Ok(st.cgroup.freeze(true)?),
        Status::Paused => Err(Error::Other("container already paused".into())),
        _ => Err(Error::NotRunning),
    }
}

pub fn resume(g: &Globals, id: &str) -> Result<()> {
    let (_dir, st, status) = load_shared(g, id)?;
    match status {
        Status::Paused => Ok(st.cgroup.freeze(false)?),
        Status::Stopped => Err(Error::NotRunning),
        _ => Err(Error::NotPaused),
    }
}
