//! OCI hooks: lowered from config.json, run with the container state JSON on
//! stdin, their own args and env, and a timeout. Output is captured for the
//! error message, in the shape runc uses ("error running createRuntime hook
//! #0: exit status 1, stdout: ..., stderr: ...").

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks};

use crate::spec::SpecError;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HookPlan {
    pub path: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub timeout: Option<u64>,
}

/// Every hook phase of a container, in config order.
#[derive(Debug, Clone, Default)]
pub struct HooksPlan {
    pub prestart: Vec<HookPlan>,
    pub create_runtime: Vec<HookPlan>,
    pub create_container: Vec<HookPlan>,
    pub start_container: Vec<HookPlan>,
    pub poststart: Vec<HookPlan>,
    pub poststop: Vec<HookPlan>,
}

fn lower_list(phase: &str, list: &Option<Vec<Hook>>) -> Result<Vec<HookPlan>, SpecError> {
    let mut out = Vec::new();
    for (i, h) in list.iter().flatten().enumerate() {
        let field = format!("hooks.{phase}[{i}]");
        if !h.path().is_absolute() {
            return Err(SpecError::invalid(
                format!("{field}.path"),
                format!("{} is not an absolute path", h.path().display()),
            ));
        }
        let timeout = match h.timeout() {
            Some(t) if t <= 0 => {
                return Err(SpecError::invalid(
                    format!("{field}.timeout"),
                    "must be greater than zero",
                ))
            }
            Some(t) => Some(t as u64),
            None => None,
        };
        out.push(HookPlan {
            path: h.path().clone(),
            args: h.args().clone().unwrap_or_default(),
            env: h.env().clone().unwrap_or_default(),
            timeout,
        });
    }
    Ok(out)
}

impl HooksPlan {
    pub fn lower(hooks: Option<&Hooks>) -> Result<Self, SpecError> {
        let Some(h) = hooks else {
            return Ok(HooksPlan::default());
        };
        #[allow(deprecated)]
        let prestart = h.prestart();
        Ok(HooksPlan {
            prestart: lower_list("prestart", prestart)?,
            create_runtime: lower_list("createRuntime", h.create_runtime())?,
            create_container: lower_list("createContainer", h.create_container())?,
            start_container: lower_list("startContainer", h.start_container())?,
            poststart: lower_list("poststart", h.poststart())?,
            poststop: lower_list("poststop", h.poststop())?,
        })
    }
}

/// Run the hooks of one phase in order; the first failure stops the phase.
pub fn run_phase(phase: &str, hooks: &[HookPlan], state_json: &str) -> Result<(), String> {
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, state_json).map_err(|e| format!("error running {phase} hook #{i}: {e}"))?;
    }
    Ok(())
}

/// Run every hook of a phase whose failures are only warnings (poststop):
/// each failure is logged and the next hook still runs.
pub fn run_phase_warn(phase: &str, hooks: &[HookPlan], state_json: &str) {
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run_one(h, state_json) {
            crate::logging::warn(&format!("error running {phase} hook #{i}: {e}"));
        }
    }
}

fn run_one(h: &HookPlan, state_json: &str) -> Result<(), String> {
    let mut cmd = Command::new(&h.path);
    if let Some((first, rest)) = h.args.split_first() {
        cmd.arg0(first).args(rest);
    }
    cmd.env_clear()
        .envs(h.env.iter().filter_map(|kv| kv.split_once('=')))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::sys::close_extra_fds_on_exec(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: {}", h.path.display(), crate::error::io_text(&e)))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not an error.
        let _ = stdin.write_all(state_json.as_bytes());
    }
    let deadline = h.timeout.map(|t| Instant::now() + Duration::from_secs(t));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = loop {
        drain(&mut child, &mut out, &mut err);
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(crate::error::io_text(&e)),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("timeout".to_string());
        }
    };
    drain(&mut child, &mut out, &mut err);
    if status.success() {
        return Ok(());
    }
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (_, Some(sig)) => format!("signal: {}", crate::signals::name(sig)),
        _ => "failed".to_string(),
    };
    Err(format!(
        "{how}, stdout: {}, stderr: {}",
        String::from_utf8_lossy(&out).trim_end(),
        String::from_utf8_lossy(&err).trim_end()
    ))
}

/// Read what the hook wrote so far (waiting at most a few ms for more).
fn drain(child: &mut std::process::Child, out: &mut Vec<u8>, err: &mut Vec<u8>) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let (Some(so), Some(se)) = (child.stdout.as_mut(), child.stderr.as_mut()) else {
        std::thread::sleep(Duration::from_millis(2));
        return;
    };
    let mut fds = [
        PollFd::new(so.as_fd(), PollFlags::POLLIN),
        PollFd::new(se.as_fd(), PollFlags::POLLIN),
    ];
    if poll(&mut fds, PollTimeout::from(5u8)).unwrap_or(0) <= 0 {
        return;
    }
    let ready: Vec<bool> = fds
        .iter()
        .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
        .collect();
    let mut buf = [0u8; 4096];
    if ready[0] {
        if let Ok(n) = so.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
    }
    if ready[1] {
        if let Ok(n) = se.read(&mut buf) {
            err.extend_from_slice(&buf[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(args: &[&str]) -> HookPlan {
        HookPlan {
            path: "/bin/sh".into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec!["X=1".into()],
            timeout: Some(5),
        }
    }

    #[test]
    fn passes_state_on_stdin_and_env() {
        let dir = std::env::temp_dir().join(format!("rrun-hook-{}", std::process::id()));
        let out = dir.display().to_string();
        let h = hook(&["sh", "-c", &format!("cat > {out}; echo $X >> {out}")]);
        run_phase("prestart", &[h], "{\"id\":\"x\"}").expect("hook runs");
        let text = std::fs::read_to_string(&dir).expect("hook wrote");
        assert_eq!(text, "{\"id\":\"x\"}1\n");
        let _ = std::fs::remove_file(&dir);
    }

    #[test]
    fn failure_names_phase_index_and_output() {
        let h = hook(&["sh", "-c", "echo oops >&2; exit 3"]);
        let err = run_phase("createRuntime", &[h], "{}").expect_err("must fail");
        assert!(
            err.starts_with("error running createRuntime hook #0: exit status 3"),
            "{err}"
        );
        assert!(err.contains("stderr: oops"), "{err}");
    }

    #[test]
    fn timeout_kills_the_hook() {
        let mut h = hook(&["sh", "-c", "sleep 10"]);
        h.timeout = Some(1);
        let err = run_phase("poststop", &[h], "{}").expect_err("must time out");
        assert!(err.ends_with("timeout"), "{err}");
    }
}
