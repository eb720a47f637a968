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
//! Ready, waits for start, and executes the program. So the waiting init's
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
use crate::namespaces::NsKind;
use crate::seccomp::eval::{self, SeccompData};
use crate::spec::ContainerPlan;
use crate::sys;

#[cfg(rrun_trampoline)]
const IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/trampoline"));
#[cfg(not(rrun_trampoline))]
const IMAGE: &[u8] = &[];

/// The init's name (argv[0] and comm) while it waits for start.
const NAME: &str = "rrun-init";

/// Can this container's init hand over to the trampoline? Not with an
/// AppArmor profile or SELinux label to apply (the plan keeps them only
/// where the host has the LSM): they take effect at the next execve, which
/// would be the trampoline's, not the program's.
pub fn fits(plan: &ContainerPlan) -> bool {
    !IMAGE.is_empty()
        && plan.namespaces.creates(NsKind::Pid)
        && plan.hooks.create_container.is_empty()
        && plan.hooks.start_container.is_empty()
        && plan.process.apparmor_profile.is_none()
        && plan.process.selinux_label.is_none()
        && plan
            .seccomp
            .as_ref()
            .is_none_or(|sc| filter_allows_trampoline(&sc.bpf))
}

/// The syscalls made under the container's seccomp filter once rrun hands
/// over: execveat of the trampoline and each syscall the trampoline makes.
fn filter_allows_trampoline(bpf: &[u8]) -> bool {
    let fd = 3;
    let calls: [(libc::c_long, [u64; 6]); 9] = [
        (
            libc::SYS_execveat,
            [fd, 0, 0, 0, libc::AT_EMPTY_PATH as u64, 0],
        ),
        (libc::SYS_prctl, [libc::PR_SET_NAME as u64, 0, 0, 0, 0, 0]),
        (
            libc::SYS_sendto,
            [fd, 0, 1, libc::MSG_NOSIGNAL as u64, 0, 0],
        ),
        (
            libc::SYS_accept4,
            [fd, 0, 0, libc::SOCK_CLOEXEC as u64, 0, 0],
        ),
        (libc::SYS_read, [fd, 0, 1, 0, 0, 0]),
        (libc::SYS_close, [fd, 0, 0, 0, 0, 0]),
        (libc::SYS_fcntl, [fd, libc::F_SETFD as u64, 1, 0, 0, 0]),
        (libc::SYS_execve, [0; 6]),
        (libc::SYS_exit_group, [0; 6]),
    ];
    calls.iter().all(|&(nr, args)| {
        let data = SeccompData {
            nr: nr as i32,
            arch: crate::seccomp::native_audit_arch(),
            instruction_pointer: 0,
            args,
        };
        eval::allows(bpf, &data)
    })
}

/// The trampoline in a sealed, executable memfd (None if the kernel will
/// not give one).
pub fn load() -> Option<OwnedFd> {
    if IMAGE.is_empty() {
        return None;
    }
    sys::sealed_memfd(c"rrun-init", IMAGE).ok()
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
    listener: Option<&OwnedFd>,
) -> StepError {
    match prepare(p, preserve_fds, sync, listener) {
        Ok(()) => {}
        Err(e) => return e,
    }
    let number = |fd: Option<BorrowedFd<'_>>| {
        fd.map_or_else(|| "-".to_string(), |f| f.as_raw_fd().to_string())
    };
    let head = [
        NAME.to_string(),
        Msg::Ready.tag().to_string(),
        number(Some(sync.fd())),
        number(listener.map(|l| l.as_fd())),
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
    listener: Option<&OwnedFd>,
) -> Result<(), StepError> {
    sys::reset_signals(p.ignored_signals);
    sys::close_range_cloexec(3 + preserve_fds).at(|| "close inherited descriptors")?;
    for fd in std::iter::once(sync.fd()).chain(listener.map(|l| l.as_fd())) {
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

    fn default_plan(edit: impl FnOnce(&mut serde_json::Value)) -> ContainerPlan {
        let mut value = crate::spec::default::default_spec(false);
        value["root"]["path"] = serde_json::json!("/");
        edit(&mut value);
        let spec: oci_spec::runtime::Spec = serde_json::from_value(value).expect("spec");
        let ctx = crate::spec::PlanContext {
            id: "trampoline-fit".into(),
            bundle: std::env::temp_dir(),
            no_pivot: false,
            no_new_keyring: false,
            preserve_fds: 0,
            systemd_cgroup: false,
            listen_fds: 0,
            seccomp_cache: None,
        };
        crate::spec::plan(&spec, &ctx).expect("plan")
    }

    #[test]
    fn fits_a_new_pid_namespace_without_hooks_inside_or_lsm_labels() {
        assert_eq!(fits(&default_plan(|_| {})), !IMAGE.is_empty());
        let host_pid = default_plan(|s| {
            let ns = s["linux"]["namespaces"].as_array_mut().expect("namespaces");
            ns.retain(|n| n["type"] != "pid");
        });
        assert!(!fits(&host_pid));
        let hook = default_plan(|s| {
            s["hooks"] = serde_json::json!({"startContainer": [{"path": "/bin/true"}]});
        });
        assert!(!fits(&hook));
        let mut labelled = default_plan(|_| {});
        labelled.process.apparmor_profile = Some("docker-default".into());
        assert!(!fits(&labelled));
        let mut labelled = default_plan(|_| {});
        labelled.process.selinux_label = Some("system_u:system_r:container_t:s0".into());
        assert!(!fits(&labelled));
    }

    #[test]
    fn seccomp_profiles_that_refuse_its_syscalls_do_not_fit() {
        let compile = |json: serde_json::Value| {
            let s: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(json).expect("profile");
            crate::seccomp::compile(&s).expect("compile")
        };
        let allow_all = compile(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        assert!(filter_allows_trampoline(&allow_all));
        for name in ["execveat", "accept4", "sendto", "fcntl"] {
            let deny = compile(serde_json::json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": [name], "action": "SCMP_ACT_ERRNO"}]
            }));
            assert!(!filter_allows_trampoline(&deny), "{name} denied");
        }
    }
}
