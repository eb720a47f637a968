//! The last steps every process rrun starts in a container takes before
//! execve (the init and `exec` alike): capabilities and ids, seccomp, the
//! working directory, the environment, the program lookup, and the sync
//! helpers both recipes use.

use std::ffi::{CString, OsStr};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::unistd::{setresgid, setresuid, Gid, Uid};

use super::plan::ProcessPlan;
use super::sync::{Msg, SyncSocket};
use crate::error::{AtStep, StepError};
use crate::proc_files::ProcRoot;
use crate::seccomp::SeccompPlan;
use crate::sys;

/// Ask for the AppArmor profile and SELinux label of the next execve.
pub fn apply_lsm(p: &ProcessPlan, proc: &ProcRoot) -> Result<(), StepError> {
    if let Some(profile) = &p.apparmor_profile {
        crate::lsm::apparmor_exec(proc, profile)
            .at(|| format!("apply AppArmor profile {profile:?}"))?;
    }
    if let Some(label) = &p.selinux_label {
        crate::lsm::selinux_exec(proc, label).at(|| format!("apply SELinux label {label:?}"))?;
    }
    Ok(())
}

pub fn load_seccomp(seccomp: Option<&SeccompPlan>, sync: &SyncSocket) -> Result<(), StepError> {
    let Some(sc) = seccomp else {
        return Ok(());
    };
    let listener = sys::seccomp_set_filter(sc.flags, &sc.bpf).at(|| "load seccomp filter")?;
    if let Some(fd) = listener {
        sync.send_with_fd(&Msg::SeccompFd, Some(fd.as_fd()))
            .at(|| "send the seccomp listener")?;
    }
    Ok(())
}

/// The program to execute, resolved as the container user.
pub struct Program {
    pub(super) exe: CString,
    pub(super) argv: Vec<CString>,
    pub(super) env: Vec<CString>,
}

/// The confinement shared by the init and exec'd processes, in its order:
/// rlimits (raising a hard limit needs CAP_SYS_RESOURCE: before the
/// capability drop), no_new_privs or (without it, loading a filter needs
/// CAP_SYS_ADMIN) the seccomp filter, the credentials; then as the
/// container user the working directory and the program (a missing program
/// is a create-time error, worded as runc's), umask, LSM labels, and with
/// no_new_privs the filter as late as possible, so the profile needs to
/// allow few of our syscalls (as runc: before Ready, which may carry the
/// listener).
pub fn confine(
    p: &ProcessPlan,
    seccomp: Option<&SeccompPlan>,
    sync: &SyncSocket,
    proc: &ProcRoot,
) -> Result<Program, StepError> {
    for r in &p.rlimits {
        sys::setrlimit(r.resource, r.soft, r.hard)
            .at(|| format!("set rlimit {} to soft {} hard {}", r.name, r.soft, r.hard))?;
    }
    if p.no_new_privileges {
        sys::set_no_new_privs().at(|| "set no_new_privs")?;
    } else {
        load_seccomp(seccomp, sync)?;
    }
    finalize_credentials(p, proc)?;
    chdir_inside(&p.cwd)?;
    let program = Program {
        env: environment(p)?,
        exe: find_executable(&p.args[0], p.env_var("PATH"))?,
        argv: cstrings(&p.args)?,
    };
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        p.umask.unwrap_or(0o022),
    ));
    apply_lsm(p, proc)?;
    if p.no_new_privileges {
        load_seccomp(seccomp, sync)?;
    }
    Ok(program)
}

/// What the last execve needs: the ignored signals and the mask reset,
/// every descriptor but stdio and the preserved ones close-on-exec.
pub fn prepare_exec(p: &ProcessPlan, preserve_fds: u32) -> Result<(), StepError> {
    sys::reset_signals(p.ignored_signals);
    sys::close_range_cloexec(3 + preserve_fds).at(|| "close inherited descriptors")
}

/// After start: `prepare_exec` and become the program.
pub fn exec_program(p: &ProcessPlan, preserve_fds: u32, program: &Program) -> ! {
    if let Err(e) = prepare_exec(p, preserve_fds) {
        die_after_start(&e.to_string());
    }
    let e = sys::execve(&program.exe, &program.argv, &program.env);
    die_after_start(&format!("exec {:?}: {}", p.args[0], crate::error::Cause(e)))
}

/// A child step failed before the start handshake: report it to the parent
/// (errno 0 when the text says it all) and exit.
pub fn fail(sync: &SyncSocket, err: StepError) -> ! {
    let errno = if err.errno == Errno::UnknownErrno {
        0
    } else {
        err.errno as i32
    };
    let _ = sync.send(&Msg::Error(errno, err.step));
    sys::exit_now(1)
}

/// After the start handshake nobody listens on the sync socket: say it on
/// the container's stderr, as the program would have.
pub fn die_after_start(msg: &str) -> ! {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "rrun: {msg}");
    sys::exit_now(127)
}

pub fn recv(sync: &SyncSocket) -> Result<Msg, StepError> {
    match sync.recv().at(|| "sync receive")? {
        Some((msg, _)) => Ok(msg),
        None => Err(StepError::msg("sync: rrun went away")),
    }
}

pub fn wait_for(sync: &SyncSocket, name: &str) -> Result<(), StepError> {
    let msg = recv(sync)?;
    if msg.name() == name {
        Ok(())
    } else {
        Err(StepError::msg(format!(
            "sync: expected {name}, got {}",
            msg.name()
        )))
    }
}

/// Drop to the container's capabilities and ids. `proc` is the host's
/// verified procfs: after pivot_root, /proc is the container's to plant.
pub fn finalize_credentials(p: &ProcessPlan, proc: &ProcRoot) -> Result<(), StepError> {
    let err = |(step, e): (String, Errno)| StepError::new(step, e);
    p.caps.apply_bounding().map_err(err)?;
    sys::set_keepcaps(true).at(|| "keep capabilities across setuid")?;
    let setgroups_denied = proc
        .read("self/setgroups")
        .is_ok_and(|s| s.trim_ascii() == b"deny");
    if !setgroups_denied {
        let groups: Vec<Gid> = p
            .additional_gids
            .iter()
            .map(|g| Gid::from_raw(*g))
            .collect();
        nix::unistd::setgroups(&groups).at(|| format!("setgroups {:?}", p.additional_gids))?;
    }
    let (uid, gid) = (Uid::from_raw(p.uid), Gid::from_raw(p.gid));
    setresgid(gid, gid, gid).at(|| format!("setgid {}", p.gid))?;
    setresuid(uid, uid, uid).at(|| format!("setuid {}", p.uid))?;
    p.caps.apply_sets().map_err(err)?;
    sys::set_keepcaps(false).at(|| "clear keep-capabilities")?;
    Ok(())
}

/// chdir to the configured cwd and make sure it is inside the container
/// (a cwd reached through a leaked host descriptor would show as
/// "(unreachable)": CVE-2024-21626 class).
pub fn chdir_inside(cwd: &Path) -> Result<(), StepError> {
    nix::unistd::chdir(cwd).at(|| {
        format!(
            "chdir to cwd ({:?}) set in config.json",
            cwd.display().to_string()
        )
    })?;
    if crate::testpoint::disabled("cwd-check") {
        return Ok(());
    }
    // A directory outside our root has no path from it: getcwd fails
    // (ENOENT) or, with older libcs, answers "(unreachable)...".
    let outside = || StepError::msg(format!("cwd {} is outside the container", cwd.display()));
    let here = nix::unistd::getcwd().map_err(|_| outside())?;
    if !here.is_absolute() || here.as_os_str().as_bytes().starts_with(b"(unreachable)") {
        return Err(outside());
    }
    Ok(())
}

/// The process environment, with HOME from /etc/passwd when not given.
pub fn environment(p: &ProcessPlan) -> Result<Vec<CString>, StepError> {
    let mut env = p.env.clone();
    if p.env_var("HOME").is_none() {
        env.push(format!("HOME={}", home_of(p.uid)));
    }
    cstrings(&env)
}

fn home_of(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
        })
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_string())
}

pub fn cstrings(list: &[String]) -> Result<Vec<CString>, StepError> {
    list.iter()
        .map(|s| {
            CString::new(s.as_bytes())
                .map_err(|_| StepError::msg(format!("{s:?} contains a NUL byte")))
        })
        .collect()
}

/// Find the program as Go's exec.LookPath does, with runc's error words
/// (Docker maps "executable file not found" and "no such file or
/// directory" to 127, "permission denied" to 126).
pub fn find_executable(name: &str, path_env: Option<&str>) -> Result<CString, StepError> {
    let quoted = format!("{name:?}");
    let check = |candidate: &Path| -> Result<CString, Errno> {
        let c = CString::new(candidate.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
        let meta = std::fs::metadata(candidate)
            .map_err(|e| e.raw_os_error().map_or(Errno::EIO, Errno::from_raw))?;
        if meta.is_dir() {
            return Err(Errno::EACCES);
        }
        sys::can_execute(&c)?;
        Ok(c)
    };
    if name.contains('/') {
        return check(Path::new(name)).map_err(|e| match e {
            Errno::ENOENT | Errno::ENOTDIR => StepError::msg(format!(
                "exec: {quoted}: stat {name}: {}",
                crate::error::Cause(e)
            )),
            e => StepError::msg(format!("exec: {quoted}: {}", crate::error::Cause(e))),
        });
    }
    for dir in path_env.unwrap_or("").split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate: PathBuf = Path::new(dir).join(OsStr::new(name));
        if let Ok(c) = check(&candidate) {
            return Ok(c);
        }
    }
    Err(StepError::msg(format!(
        "exec: {quoted}: executable file not found in $PATH"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookpath_wording_matches_runc() {
        let e = find_executable("definitely-not-here", Some("/bin:/usr/bin")).expect_err("missing");
        assert_eq!(
            e.step,
            "exec: \"definitely-not-here\": executable file not found in $PATH"
        );
        let e = find_executable("/nope/x", None).expect_err("missing");
        assert_eq!(
            e.step,
            "exec: \"/nope/x\": stat /nope/x: no such file or directory"
        );
        let e = find_executable("/etc/passwd", None).expect_err("not executable");
        assert_eq!(e.step, "exec: \"/etc/passwd\": permission denied");
        assert!(find_executable("sh", Some("/nope:/bin")).is_ok());
    }
}
