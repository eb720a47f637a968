//! `create` (and the first half of `run`): load and plan the bundle, make the
//! state dir and cgroup, spawn the init and drive it to Ready, save state and
//! the pid file. Anything that fails removes everything made so far.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use super::Globals;
use crate::error::{Error, Result, SysContext};
use crate::process::spawn::{self, Spawned};
use crate::process::Handover;
use crate::spec::{self, ContainerPlan, PlanContext};
use crate::state::{State, StateDir, Status};
use crate::{clock, logging, proc_files, tty};

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// rrun returns while the container runs (always for `create`).
    pub detach: bool,
}

/// A container that has reached Ready.
pub struct Created {
    pub plan: ContainerPlan,
    pub state: State,
    pub dir: StateDir,
    pub init: Spawned,
    /// Its program runs already (`run`'s immediate start).
    pub started: bool,
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).step(|| format!("bundle {}", p.display()))
}

/// Socket activation (systemd's protocol, as runc reads it): LISTEN_FDS
/// descriptors from 3 on, meant for us only if LISTEN_PID is our pid.
fn listen_fds() -> u32 {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|pid| pid == std::process::id());
    if !ours {
        return 0;
    }
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Create a container. `detached_start` false is `run`: it is released by
/// message instead of through exec.sock.
pub fn create(g: &Globals, o: &CreateOptions, detached_start: bool) -> Result<Created> {
    let bundle = absolute(&o.bundle)?;
    let (spec, config_text) = spec::load_config(&bundle)?;
    // CVE-2019-5736: a container the start trampoline cannot serve
    // re-executes rrun now, before the plan (it is made again after).
    let may_use_trampoline = crate::reexec::protect_before_plan(&spec);
    let ctx = PlanContext {
        id: o.id.clone(),
        bundle: bundle.clone(),
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        preserve_fds: o.preserve_fds,
        systemd_cgroup: g.systemd_cgroup,
        listen_fds: listen_fds(),
        seccomp_cache: Some(crate::state::seccomp_cache(&g.root)),
    };
    crate::state::validate_id(&o.id)?;
    let mut plan = spec::plan(&spec, &ctx)?;
    check_terminal(&plan, o)?;
    // Before anything is made: this may still re-execute rrun. `run`
    // without a terminal starts the program as soon as the init is ready.
    let immediate = !detached_start && !plan.process.terminal;
    let handover = crate::reexec::protect_init(&plan, may_use_trampoline, immediate);
    let started = matches!(
        handover,
        Handover::Trampoline {
            immediate: true,
            ..
        }
    );
    let dir = StateDir::create(&g.root, &o.id)?;
    let mut undo = Undo {
        dir: Some(dir.dir.clone()),
        cgroup: None,
        init: None,
        poststop: None,
    };
    make_cgroup(g, &mut plan)?;
    undo.cgroup = Some(plan.cgroup.clone());
    plan.cgroup.apply(&plan.resources)?;
    let start_socket = if detached_start {
        Some(crate::handshake::listen(&dir.dir)?)
    } else {
        None
    };
    let mut state = new_state(g, &plan, bundle, &config_text);
    if state.config.is_none() {
        // Not kept in the state (see kept_config): a copy beside it.
        std::fs::write(dir.dir.join(crate::state::CONFIG_FILE), &config_text)
            .step(|| "save config.json")?;
    }
    let hook_state = |pid: i32| {
        let mut s = state.clone();
        s.pid = pid;
        serde_json::to_string(&s.oci(Status::Creating)).unwrap_or_default()
    };
    // A create that fails from here on has run hooks: poststop runs too.
    undo.poststop = (!state.poststop.is_empty()).then(|| state.clone());
    let init = spawn::spawn(&plan, start_socket, handover, &hook_state)?;
    undo.init = Some(init.pid);
    if let (Some(pty), Some(sock)) = (&init.pty, &o.console_socket) {
        tty::send_to_console_socket(sock, pty.as_fd())?;
    }
    // Ready came from the start trampoline where there is one: rrun's code
    // has left the init, and `exec` may find the state.
    state.pid = init.pid;
    state.pid_start_time = proc_files::start_time(init.pid).unwrap_or(0);
    dir.save(&state)?;
    if let Some(pf) = &o.pid_file {
        write_pid_file(pf, init.pid)?;
    }
    undo.disarm();
    Ok(Created {
        plan,
        state,
        dir,
        init,
        started,
    })
}

/// runc's rules for a terminal and a console socket.
fn check_terminal(plan: &ContainerPlan, o: &CreateOptions) -> Result<()> {
    if plan.process.terminal && o.console_socket.is_none() && o.detach {
        return Err(Error::Other(
            "cannot allocate tty if runc will detach without setting console socket".into(),
        ));
    }
    if !plan.process.terminal && o.console_socket.is_some() {
        return Err(Error::Other(
            "cannot use console socket if runc will not detach or allocate tty".into(),
        ));
    }
    Ok(())
}

/// Make the container's cgroup. Rootless without a delegated cgroup: run
/// without one, as runc, unless the config asks for limits that then could
/// not hold.
fn make_cgroup(g: &Globals, plan: &mut ContainerPlan) -> Result<()> {
    let Err(e) = plan.cgroup.create() else {
        return Ok(());
    };
    if !g.rootless {
        return Err(e.into());
    }
    if let Some(limit) = plan.resources.first_limit() {
        return Err(Error::Other(format!(
            "cannot set {limit} limit: container could not join or create cgroup"
        )));
    }
    logging::warn(&format!(
        "rootless: no cgroup ({e}): running without resource control"
    ));
    plan.without_cgroup();
    Ok(())
}

/// The state of a container about to be spawned (no pid yet).
fn new_state(g: &Globals, plan: &ContainerPlan, bundle: PathBuf, config: &[u8]) -> State {
    State {
        oci_version: crate::OCI_VERSION.to_string(),
        id: plan.id.clone(),
        pid: 0,
        pid_start_time: 0,
        bundle,
        rootfs: plan.rootfs.rootfs.clone(),
        created: clock::now_nanos(),
        owner: String::new(),
        annotations: plan.annotations.clone(),
        cgroup: plan.cgroup.clone(),
        poststart: plan.hooks.poststart.clone(),
        poststop: plan.hooks.poststop.clone(),
        pid_ns: plan.namespaces.has(crate::namespaces::NsKind::Pid),
        rootless: g.rootless,
        config: kept_config(config),
    }
}

/// config.json's text as it goes into the state: its first JSON value (as
/// the parse, and runc, take it: trailing bytes are ignored). None where
/// that is not valid UTF-8 throughout (bytes the parse skipped may not
/// be): the caller keeps a copy of the file instead.
fn kept_config(text: &[u8]) -> Option<Box<serde_json::value::RawValue>> {
    serde_json::Deserializer::from_slice(text)
        .into_iter::<Box<serde_json::value::RawValue>>()
        .next()?
        .ok()
}

/// What to undo when create fails half-way: the init, the cgroup, the
/// state directory. Disarmed once the container is created.
struct Undo {
    dir: Option<PathBuf>,
    cgroup: Option<crate::cgroups::Cgroup>,
    init: Option<i32>,
    /// The state whose poststop hooks run (lifecycle steps 12 and 13).
    poststop: Option<State>,
}

impl Undo {
    fn disarm(&mut self) {
        self.dir = None;
        self.cgroup = None;
        self.init = None;
        self.poststop = None;
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(pid) = self.init.take() {
            spawn::kill_and_reap(pid, None);
        }
        if let Some(cg) = self.cgroup.take() {
            if let Err(e) = cg.destroy() {
                logging::warn(&format!("cleanup: {e}"));
            }
        }
        if let Some(st) = self.poststop.take() {
            super::delete::run_poststop(&st);
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The pid file, written atomically as runc does (tmp file + rename).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}"));
    std::fs::write(&tmp, pid.to_string()).step(|| format!("write pid file {}", path.display()))?;
    std::fs::rename(&tmp, path).step(|| format!("write pid file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::kept_config;

    #[test]
    fn keeps_the_first_json_value_or_nothing() {
        let kept = |t: &[u8]| kept_config(t).map(|r| r.get().to_string());
        assert_eq!(
            kept(b"{\"ociVersion\": \"1.2.0\"}").as_deref(),
            Some("{\"ociVersion\": \"1.2.0\"}")
        );
        // The parse (and runc) ignore what follows the object.
        assert_eq!(kept(b"{\"a\": 1}\n}junk").as_deref(), Some("{\"a\": 1}"));
        // Bytes the parse skipped need not be UTF-8: then a copy is kept.
        assert_eq!(kept(b"{\"x\": \"\xff\"}"), None);
    }
}
