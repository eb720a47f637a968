//! `exec ID [COMMAND...]` / `exec -p process.json ID`: run a new process in
//! a created or running container, with runc's flags. The process is built
//! from the container's own config (saved at create) with the command-line
//! overrides, or taken whole from --process.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use oci_spec::runtime::{Capability, Process, Spec};

use super::{foreground, load_shared, Globals};
use crate::cgroups::Cgroup;
use crate::error::{Error, Result, SysContext};
use crate::namespaces::NsKind;
use crate::process::exec::{self, ExecPlan};
use crate::process::plan::ProcessPlan;
use crate::spec::load;
use crate::state::{State, Status};
use crate::tty;

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub id: String,
    pub process: Option<PathBuf>,
    pub tty: bool,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub caps: Vec<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub cwd: Option<PathBuf>,
    pub preserve_fds: u32,
    pub cgroup: Vec<String>,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub no_new_privs: bool,
    pub ignore_paused: bool,
    pub args: Vec<String>,
}

/// Returns the exit status rrun should exit with.
pub fn exec(g: &Globals, o: &ExecOptions) -> Result<i32> {
    let (dir, st, status) = load_shared(g, &o.id)?;
    match status {
        Status::Stopped => return Err(Error::NotRunning),
        Status::Paused if !o.ignore_paused => {
            return Err(Error::Other(
                "cannot exec in a paused container (use --ignore-paused to override)".into(),
            ))
        }
        _ => {}
    }
    let spec = container_config(&dir.dir, &st)?;
    let process = exec_process(&spec, o)?;
    if process.terminal && o.console_socket.is_none() && o.detach {
        return Err(Error::Other(
            "cannot allocate tty if runc will detach without setting console socket".into(),
        ));
    }
    let linux = spec.linux().clone().unwrap_or_default();
    let cache = crate::state::seccomp_cache(&g.root);
    let plan = ExecPlan {
        process,
        seccomp: linux
            .seccomp()
            .as_ref()
            .map(|s| crate::seccomp::plan(s, Some(&cache)))
            .transpose()?,
        personality: crate::spec::plan::lower_personality(&linux)?,
        preserve_fds: o.preserve_fds,
    };
    let joins = open_namespaces(&st, &spec)?;
    let sub = cgroup_subpaths(&o.cgroup)?;
    let joining = crate::cgroups::join::plan(&exec_cgroup(&st, &sub), true)?;
    let state_json = |_pid: i32| serde_json::to_string(&st.oci(status)).unwrap_or_default();
    let signals = foreground::catch_signals(o.detach)?;
    let child = exec::spawn(&plan, joins, joining, &state_json)?;
    if let Some(pf) = &o.pid_file {
        super::create::write_pid_file(pf, child.pid)?;
    }
    if let (Some(pty), Some(sock)) = (&child.pty, &o.console_socket) {
        tty::send_to_console_socket(sock, pty.as_fd())?;
    }
    child.release()?;
    let Some(signals) = signals else {
        return Ok(0);
    };
    let proxy = child.pty.is_some() && o.console_socket.is_none();
    foreground::wait(&child, proxy, signals)
}

/// The config the container was created with: kept in its state (or, for
/// containers of earlier rrun builds, in a config.json beside it).
fn container_config(dir: &Path, st: &State) -> Result<Spec> {
    Ok(match &st.config {
        Some(text) => load::parse_named(
            &dir.join(crate::state::STATE_FILE),
            text.get().as_bytes(),
            load::parse_config,
        )?,
        None => load::load_file(&dir.join(crate::state::CONFIG_FILE), load::parse_config)?,
    })
}

fn has_ns(spec: &Spec, kind: NsKind) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|list| list.iter().any(|n| NsKind::from_spec(n.typ()) == kind))
}

/// The process to run: --process whole, or the container's with overrides.
fn exec_process(spec: &Spec, o: &ExecOptions) -> Result<ProcessPlan> {
    let mut p: Process = match &o.process {
        Some(path) => load::load_file(path, load::parse_process)?,
        None => {
            if o.args.is_empty() {
                return Err(Error::Other(
                    "exec: arguments required (or --process)".into(),
                ));
            }
            let mut p = spec.process().clone().unwrap_or_default();
            p.set_args(Some(o.args.clone()));
            p.set_terminal(Some(o.tty));
            p
        }
    };
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(o.env.iter().cloned());
    p.set_env(Some(env));
    if let Some(cwd) = &o.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(user) = &o.user {
        let (uid, gid) = parse_user(user)?;
        p.user_mut().set_uid(uid);
        if let Some(gid) = gid {
            p.user_mut().set_gid(gid);
        }
    }
    if !o.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(o.additional_gids.clone()));
    }
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(a) = &o.apparmor {
        p.set_apparmor_profile(Some(a.clone()));
    }
    if let Some(l) = &o.process_label {
        p.set_selinux_label(Some(l.clone()));
    }
    add_caps(&mut p, &o.caps)?;
    Ok(crate::spec::plan::lower_process(&p)?)
}

fn parse_user(s: &str) -> Result<(u32, Option<u32>)> {
    let bad = || {
        Error::Other(format!(
            "invalid --user {s:?}: expected uid[:gid] (numbers)"
        ))
    };
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = g.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

/// --cap adds a capability to the bounding, effective and permitted sets.
fn add_caps(p: &mut Process, caps: &[String]) -> Result<()> {
    if caps.is_empty() {
        return Ok(());
    }
    let mut c = p.capabilities().clone().unwrap_or_default();
    for name in caps {
        let full = if name.to_ascii_uppercase().starts_with("CAP_") {
            name.to_ascii_uppercase()
        } else {
            format!("CAP_{}", name.to_ascii_uppercase())
        };
        let cap: Capability = serde_json::from_value(serde_json::Value::String(full.clone()))
            .map_err(|_| Error::Other(format!("--cap: unknown capability {full}")))?;
        for set in [
            c.bounding().clone(),
            c.effective().clone(),
            c.permitted().clone(),
        ]
        .iter_mut()
        .enumerate()
        {
            let mut s = set.1.clone().unwrap_or_default();
            s.insert(cap);
            match set.0 {
                0 => c.set_bounding(Some(s)),
                1 => c.set_effective(Some(s)),
                _ => c.set_permitted(Some(s)),
            };
        }
    }
    p.set_capabilities(Some(c));
    Ok(())
}

/// Open the init's namespaces (load_shared found it running), then check
/// it is still the container's init (start time): a recycled pid is never
/// joined.
fn open_namespaces(st: &State, spec: &Spec) -> Result<Vec<(NsKind, OwnedFd)>> {
    let mut out = Vec::new();
    for kind in NsKind::ALL {
        if !has_ns(spec, kind) {
            continue;
        }
        let path = format!("/proc/{}/ns/{}", st.pid, kind.proc_name());
        let fd = nix::fcntl::open(
            path.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .step(|| format!("open {path}"))?;
        out.push((kind, fd));
    }
    if !st.init_alive() {
        return Err(Error::NotRunning);
    }
    Ok(out)
}

/// --cgroup [controller:]path: a sub-cgroup of the container's to join.
fn cgroup_subpaths(list: &[String]) -> Result<Vec<(Option<String>, PathBuf)>> {
    list.iter()
        .map(|s| {
            let (ctrl, path) = match s.split_once(':') {
                Some((c, p)) => (Some(c.to_string()), p),
                None => (None, s.as_str()),
            };
            let path = PathBuf::from(path.trim_start_matches('/'));
            if path
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(Error::Other(format!(
                    "--cgroup {s:?}: must be a relative path without .."
                )));
            }
            Ok((ctrl, path))
        })
        .collect()
}

/// The container's cgroup, with the --cgroup sub-paths applied.
fn exec_cgroup(st: &State, sub: &[(Option<String>, PathBuf)]) -> Cgroup {
    let mut cg = st.cgroup.clone();
    for d in &mut cg.dirs {
        let chosen = sub.iter().find(|(c, _)| match c {
            Some(c) => d.controllers.iter().any(|x| x == c) || (d.is_v2() && c.is_empty()),
            None => true,
        });
        if let Some((_, path)) = chosen {
            d.path = d.path.join(path);
        }
    }
    cg
}
