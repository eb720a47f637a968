//! The start trampoline: a program of a few hundred bytes (assembled from
//! trampoline_<arch>.S by build.rs) that the init becomes at the end of
//! `create`, so that the CVE-2019-5736 protection costs no second execution
//! of rrun on the create path.
//!
//! The protection's rule (reexec.rs): no process may run rrun's code inside
//! a container from a writable rrun binary where a container process could
//! reach it. The init runs rrun's code during `create` only; in a pid
//! namespace of its own nobody can see it then (no other process is in it
//! yet, and none can join before `create` has returned). After that it must
//! not be rrun: it executes the trampoline, from a sealed memfd, which sends
//! Ready, waits for start (not for `run`'s immediate start), and executes
//! the program. So the waiting init's
//! /proc/<pid>/exe is the sealed memfd (writes fail), and the program's own
//! execve, even of /proc/self/exe or a script naming it, finds the
//! trampoline, not rrun.
//!
//! Where that does not hold, rrun re-executes from a read-only binary as
//! before (reexec::protect_init): a pid namespace joined or the host's,
//! hooks that run inside the container (createContainer, startContainer),
//! a seccomp filter that would refuse one of the trampoline's syscalls, an
//! architecture without a trampoline, or no executable memfd.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::finish::Program;
use super::plan::ProcessPlan;
use super::sync::{Msg, SyncSocket};
use crate::error::{AtStep, StepError};
use crate::namespaces::{NamespacePlan, NsKind};
use crate::seccomp::eval::{self, SeccompData};
use crate::spec::ContainerPlan;
use crate::sys;
use oci_spec::runtime::Spec;

#[cfg(rrun_trampoline)]
const IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/trampoline"));
#[cfg(not(rrun_trampoline))]
const IMAGE: &[u8] = &[];

/// The init's name (argv[0] and comm) while it waits for start.
const NAME: &str = "rrun-init";

/// What the config decides, before the plan (so that a container the
/// trampoline cannot serve re-executes before planning): a new pid
/// namespace, no hooks inside the container, and no AppArmor profile or
/// SELinux label (they take effect at the next execve, which would be the
/// trampoline's, not the program's).
pub fn fits_config(spec: &Spec) -> bool {
    let new_pid = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|list| NamespacePlan::lower(list).is_ok_and(|n| n.creates(NsKind::Pid)));
    let hooks_inside = spec.hooks().as_ref().is_some_and(|h| {
        [h.create_container(), h.start_container()]
            .iter()
            .any(|l| l.as_ref().is_some_and(|l| !l.is_empty()))
    });
    let labelled = spec.process().as_ref().is_some_and(|p| {
        [p.apparmor_profile(), p.selinux_label()]
            .iter()
            .any(|l| l.as_ref().is_some_and(|l| !l.is_empty()))
    });
    !IMAGE.is_empty() && new_pid && !hooks_inside && !labelled
}

/// What only the plan says: the compiled seccomp filter lets the
/// trampoline's syscalls through (with `immediate` it waits for nothing).
pub fn fits_plan(plan: &ContainerPlan, immediate: bool) -> bool {
    plan.seccomp
        .as_ref()
        .is_none_or(|sc| filter_allows_trampoline(&sc.bpf, !immediate))
}

/// The syscalls made under the container's seccomp filter once rrun hands
/// over: execveat of the trampoline and each syscall the trampoline makes.
/// Naming itself and closing a descriptor may fail (it goes on); the rest
/// must run. Accepting and reading are the wait for start (`waits`).
fn filter_allows_trampoline(bpf: &[u8], waits: bool) -> bool {
    let fd = 3;
    let needed: [(libc::c_long, [u64; 6]); 6] = [
        (
            libc::SYS_execveat,
            [fd, 0, 0, 0, libc::AT_EMPTY_PATH as u64, 0],
        ),
        (
            libc::SYS_prctl,
            [libc::PR_SET_DUMPABLE as u64, 0, 0, 0, 0, 0],
        ),
        (
            libc::SYS_sendto,
            [fd, 0, 1, libc::MSG_NOSIGNAL as u64, 0, 0],
        ),
        (libc::SYS_fcntl, [fd, libc::F_SETFD as u64, 1, 0, 0, 0]),
        (libc::SYS_execve, [0; 6]),
        (libc::SYS_exit_group, [0; 6]),
    ];
    let waiting: [(libc::c_long, [u64; 6]); 2] = [
        (
            libc::SYS_accept4,
            [fd, 0, 0, libc::SOCK_CLOEXEC as u64, 0, 0],
        ),
        (libc::SYS_read, [fd, 0, 1, 0, 0, 0]),
    ];
    let may_fail: [(libc::c_long, [u64; 6]); 2] = [
        (libc::SYS_prctl, [libc::PR_SET_NAME as u64, 0, 0, 0, 0, 0]),
        (libc::SYS_close, [fd, 0, 0, 0, 0, 0]),
    ];
    let data = |&(nr, args): &(libc::c_long, [u64; 6])| SeccompData {
        nr: nr as i32,
        arch: crate::seccomp::native_audit_arch(),
        instruction_pointer: 0,
        args,
    };
    let program = eval::Program::decode(bpf);
    let waiting: &[_] = if waits { &waiting } else { &[] };
    needed
        .iter()
        .chain(waiting)
        .all(|c| program.allows(&data(c)))
        && may_fail.iter().all(|c| program.returns(&data(c)))
}

/// The trampoline in a sealed, executable memfd (None if the kernel will
/// not give one).
pub fn load() -> Option<OwnedFd> {
    if IMAGE.is_empty() {
        return None;
    }
    sys::sealed_memfd(c"rrun-init", IMAGE).ok()
}

/// How the trampoline waits for start once it has sent Ready.
pub enum StartBy<'a> {
    /// `create`: a connection on the listening exec.sock.
    Socket(&'a OwnedFd),
    /// `run`: the Start packet on the sync socket.
    Message,
    /// `run`'s immediate start: it does not wait.
    Now,
}

impl StartBy<'_> {
    fn listener(&self) -> Option<BorrowedFd<'_>> {
        match self {
            StartBy::Socket(l) => Some(l.as_fd()),
            StartBy::Message | StartBy::Now => None,
        }
    }

    /// The trampoline's fourth argument.
    fn argument(&self) -> String {
        match self {
            StartBy::Socket(l) => l.as_raw_fd().to_string(),
            StartBy::Message => "-".into(),
            StartBy::Now => "!".into(),
        }
    }
}

/// The init's last step in rrun: reset signals, keep only the preserved
/// descriptors and the two the trampoline needs (the sync socket, and the
/// listening exec.sock for `create`), and become the trampoline. Returns
/// only on failure (the sync socket still works then).
pub fn exec(
    trampoline: BorrowedFd<'_>,
    p: &ProcessPlan,
    preserve_fds: u32,
    program: &Program,
    sync: &SyncSocket,
    start: StartBy<'_>,
) -> StepError {
    if let Err(e) = prepare(p, preserve_fds, sync, start.listener()) {
        return e;
    }
    let head = [
        NAME.to_string(),
        Msg::Ready.tag().to_string(),
        sync.fd().as_raw_fd().to_string(),
        start.argument(),
    ];
    let mut argv: Vec<CString> = head
        .into_iter()
        .filter_map(|s| CString::new(s).ok())
        .collect();
    argv.push(program.exe.clone());
    argv.extend(program.argv.iter().cloned());
    let e = sys::execveat_empty(trampoline, &argv, &program.env);
    StepError::new("execute the start trampoline", e)
}

fn prepare(
    p: &ProcessPlan,
    preserve_fds: u32,
    sync: &SyncSocket,
    listener: Option<BorrowedFd<'_>>,
) -> Result<(), StepError> {
    super::finish::prepare_exec(p, preserve_fds)?;
    for fd in std::iter::once(sync.fd()).chain(listener) {
        sys::keep_on_exec(fd).at(|| "pass a descriptor to the start trampoline")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_built_for_this_architecture() {
        if cfg!(target_arch = "x86_64") {
            assert!(IMAGE.starts_with(b"\x7fELF"), "build.rs assembled it");
            assert!(IMAGE.len() < 4096, "{} bytes", IMAGE.len());
        }
    }

    fn config(edit: impl FnOnce(&mut serde_json::Value)) -> Spec {
        let mut value = crate::spec::default::default_spec(false);
        edit(&mut value);
        serde_json::from_value(value).expect("spec")
    }

    #[test]
    fn fits_a_new_pid_namespace_without_hooks_inside_or_lsm_labels() {
        assert_eq!(fits_config(&config(|_| {})), !IMAGE.is_empty());
        let host_pid = config(|s| {
            let ns = s["linux"]["namespaces"].as_array_mut().expect("namespaces");
            ns.retain(|n| n["type"] != "pid");
        });
        assert!(!fits_config(&host_pid));
        let joined_pid = config(|s| {
            let ns = s["linux"]["namespaces"].as_array_mut().expect("namespaces");
            ns.retain(|n| n["type"] != "pid");
            ns.push(serde_json::json!({"type": "pid", "path": "/proc/1/ns/pid"}));
        });
        assert!(!fits_config(&joined_pid));
        let hook = config(|s| {
            s["hooks"] = serde_json::json!({"startContainer": [{"path": "/bin/true"}]});
        });
        assert!(!fits_config(&hook));
        let prestart = config(|s| {
            s["hooks"] = serde_json::json!({"prestart": [{"path": "/bin/true"}]});
        });
        assert_eq!(
            fits_config(&prestart),
            !IMAGE.is_empty(),
            "runs on the host"
        );
        let apparmor = config(|s| s["process"]["apparmorProfile"] = "docker-default".into());
        assert!(!fits_config(&apparmor));
        let selinux =
            config(|s| s["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0".into());
        assert!(!fits_config(&selinux));
    }

    #[test]
    fn seccomp_profiles_that_refuse_its_syscalls_do_not_fit() {
        let compile = |json: serde_json::Value| {
            let s: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(json).expect("profile");
            crate::seccomp::compile(&s).expect("compile")
        };
        let allow_all = compile(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        assert!(filter_allows_trampoline(&allow_all, true));
        for name in ["execveat", "accept4", "sendto", "fcntl"] {
            let deny = compile(serde_json::json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": [name], "action": "SCMP_ACT_ERRNO"}]
            }));
            assert!(!filter_allows_trampoline(&deny, true), "{name} denied");
            // Without the wait, accepting and reading are not needed.
            let waiting_only = name == "accept4";
            assert_eq!(
                filter_allows_trampoline(&deny, false),
                waiting_only,
                "{name} denied, no wait"
            );
        }
        // Naming itself and close may fail with an errno, not kill it.
        for (name, action, fits) in [
            ("close", "SCMP_ACT_ERRNO", true),
            ("prctl", "SCMP_ACT_ERRNO", false), // PR_SET_DUMPABLE too
            ("close", "SCMP_ACT_KILL", false),
        ] {
            let deny = compile(serde_json::json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": [name], "action": action}]
            }));
            assert_eq!(
                filter_allows_trampoline(&deny, true),
                fits,
                "{name} {action}"
            );
        }
        let name_refused = compile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["prctl"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": libc::PR_SET_NAME, "op": "SCMP_CMP_EQ"}]}]
        }));
        assert!(
            filter_allows_trampoline(&name_refused, true),
            "PR_SET_NAME refused"
        );
    }
}
