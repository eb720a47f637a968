//! `checkpoint` and `restore`, with runc's flags (podman probes `checkpoint
//! --help`). CRIU is the only engine for them, and on the project's machine
//! `criu check` fails, so no implementation could be tested: both commands
//! make runc's first checks (the container exists; the bundle has a
//! config.json) and then fail with the reason, which they find out by
//! asking CRIU itself.

use std::path::Path;

use super::Globals;
use crate::error::{Error, Result};
use crate::state::StateDir;

pub fn checkpoint(g: &Globals, id: &str) -> Result<()> {
    let dir = StateDir::open_shared(&g.root, id)?;
    dir.load()?;
    Err(unavailable())
}

pub fn restore(bundle: &Path) -> Result<()> {
    let config = bundle.join("config.json");
    if !config.is_file() {
        return Err(Error::Other(format!(
            "restore needs a bundle: {} does not exist",
            config.display()
        )));
    }
    Err(unavailable())
}

fn unavailable() -> Error {
    let why = match std::process::Command::new("criu").arg("check").output() {
        Err(_) => "CRIU is not installed (Debian's criu package)".to_string(),
        Ok(out) if !out.status.success() => {
            let text = String::from_utf8_lossy(&out.stderr);
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            format!("`criu check` fails on this host ({})", last.trim())
        }
        Ok(_) => "rrun does not implement it yet".to_string(),
    };
    Error::Other(format!("checkpoint/restore is not available: {why}"))
}
