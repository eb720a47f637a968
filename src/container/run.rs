//! `run`: create and start in one process. Detached, it returns once the
//! program runs; in the foreground it forwards signals (and proxies the pty
//! when there is a terminal and no console socket), waits for the init, tears
//! the container down (unless --keep) and returns its exit status: the
//! program's code, or 128+N when signal N killed it.

use super::create::{create, CreateOptions, Created};
use super::{delete, foreground, start, Globals};
use crate::error::{Result, SysContext};
use crate::sys;

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
    let signals = foreground::catch_signals(o.detach)?;
    let mut co = o.create.clone();
    co.detach = o.detach;
    let mut c = create(g, &co, false)?;
    let proxy = c.init.pty.is_some() && o.create.console_socket.is_none();
    // poststart after the program runs: the init's end of the sync socket
    // is close-on-exec (a failed startContainer hook arrives as an Error).
    let released = if c.started { Ok(()) } else { c.init.release() };
    let running = released.and_then(|()| c.init.wait_exec());
    if let Err(e) = running.and_then(|()| start::poststart(&c.state)) {
        start::stop_and_destroy(c.dir, &c.state);
        return Err(e);
    }
    let Some(signals) = signals else {
        return Ok(0);
    };
    // Other commands (kill, delete) must not wait for us while it runs.
    c.dir.unlock();
    let code = foreground::wait(&c.init, proxy, signals)?;
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
