//! Lifecycle operations on a container, one module per command. Each takes
//! the global options and returns a typed error; main prints it once.

pub mod checkpoint;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod foreground;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod start;
pub mod update;

use std::path::PathBuf;

use crate::error::Result;
use crate::state::{self, State, StateDir, Status};

/// The global flags every command sees.
#[derive(Debug, Clone)]
pub struct Globals {
    pub root: PathBuf,
    pub systemd_cgroup: bool,
    pub rootless: bool,
}

/// Open, lock and load a container, with its current status.
pub fn load(g: &Globals, id: &str) -> Result<(StateDir, State, Status)> {
    let dir = StateDir::open(&g.root, id)?;
    let st = dir.load()?;
    let status = state::status_of(&dir.dir, &st);
    Ok((dir, st, status))
}

/// Load a container without taking its lock (kill, ps, pause, resume).
pub fn load_shared(g: &Globals, id: &str) -> Result<(StateDir, State, Status)> {
    let dir = StateDir::open_shared(&g.root, id)?;
    let st = dir.load()?;
    let status = state::status_of(&dir.dir, &st);
    Ok((dir, st, status))
}

/// `state ID`: the runtime-spec state, as runc prints it (2-space indent,
/// no trailing newline).
pub fn state_json(g: &Globals, id: &str) -> Result<String> {
    state::validate_id(id)?;
    let dir = g.root.join(id);
    let st = state::load_from(&dir)?;
    let status = state::status_of(&dir, &st);
    serde_json::to_string_pretty(&st.oci(status))
        .map_err(|e| crate::error::Error::Other(format!("encode state: {e}")))
}
