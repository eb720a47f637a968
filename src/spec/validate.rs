//! Named checks on a Spec before lowering: each failure names the JSON field.
//! Rules follow runc's validator where the spec is silent.

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::SpecError;

pub fn check(spec: &Spec) -> Result<(), SpecError> {
    oci_version(spec)?;
    let linux = spec.linux().clone().unwrap_or_default();
    let ns = linux.namespaces().clone().unwrap_or_default();
    let has = |t: LinuxNamespaceType| ns.iter().any(|n| n.typ() == t);
    let creates = |t: LinuxNamespaceType| {
        ns.iter()
            .any(|n| n.typ() == t && n.path().as_ref().is_none_or(|p| p.as_os_str().is_empty()))
    };
    if !has(LinuxNamespaceType::Mount) {
        return Err(SpecError::invalid(
            "linux.namespaces",
            "rrun needs a mount namespace (created, or joined by path)",
        ));
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(SpecError::invalid(
            "hostname",
            "cannot be set without a private UTS namespace",
        ));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(SpecError::invalid(
            "domainname",
            "cannot be set without a private UTS namespace",
        ));
    }
    let mapped = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if mapped && !has(LinuxNamespaceType::User) {
        return Err(SpecError::invalid(
            "linux.uidMappings",
            "id mappings need a user namespace",
        ));
    }
    if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty())
        && !creates(LinuxNamespaceType::Time)
    {
        return Err(SpecError::invalid(
            "linux.timeOffsets",
            "time offsets need a new time namespace",
        ));
    }
    for (field, list) in [
        ("linux.maskedPaths", linux.masked_paths()),
        ("linux.readonlyPaths", linux.readonly_paths()),
    ] {
        for (i, p) in list.iter().flatten().enumerate() {
            if !p.starts_with('/') {
                return Err(SpecError::invalid(
                    format!("{field}[{i}]"),
                    format!("{p:?} is not an absolute path"),
                ));
            }
        }
    }
    if spec
        .annotations()
        .iter()
        .flatten()
        .any(|(k, _)| k.is_empty())
    {
        return Err(SpecError::invalid("annotations", "keys must not be empty"));
    }
    if let Some(s) = linux.seccomp() {
        seccomp(s)?;
    }
    if linux.intel_rdt().is_some() && !resctrl_mounted() {
        return Err(SpecError::invalid(
            "linux.intelRdt",
            "no resctrl filesystem is mounted on this host",
        ));
    }
    for key in linux.sysctl().iter().flatten().map(|(k, _)| k) {
        sysctl_allowed(
            key,
            &has,
            spec.hostname().as_ref().is_some_and(|h| !h.is_empty()),
        )?;
    }
    Ok(())
}

/// Seccomp rules the spec calls invalid.
fn seccomp(s: &oci_spec::runtime::LinuxSeccomp) -> Result<(), SpecError> {
    use oci_spec::runtime::LinuxSeccompAction as A;
    let takes_errno = |a: A| matches!(a, A::ScmpActErrno | A::ScmpActTrace);
    if s.default_errno_ret().is_some() && !takes_errno(s.default_action()) {
        return Err(SpecError::invalid(
            "linux.seccomp.defaultErrnoRet",
            "the default action does not take an errno",
        ));
    }
    if s.listener_metadata()
        .as_ref()
        .is_some_and(|m| !m.is_empty())
        && s.listener_path().is_none()
    {
        return Err(SpecError::invalid(
            "linux.seccomp.listenerMetadata",
            "must not be set without listenerPath",
        ));
    }
    for (i, call) in s.syscalls().iter().flatten().enumerate() {
        if call.names().is_empty() {
            return Err(SpecError::invalid(
                format!("linux.seccomp.syscalls[{i}].names"),
                "must not be empty",
            ));
        }
        if call.errno_ret().is_some() && !takes_errno(call.action()) {
            return Err(SpecError::invalid(
                format!("linux.seccomp.syscalls[{i}].errnoRet"),
                "the action does not take an errno",
            ));
        }
    }
    Ok(())
}

fn resctrl_mounted() -> bool {
    crate::proc_files::read_text("/proc/self/mountinfo").is_ok_and(|m| {
        m.lines().any(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|t| t.starts_with("resctrl "))
        })
    })
}

fn oci_version(spec: &Spec) -> Result<(), SpecError> {
    let v = spec.version();
    // Any 1.x is accepted: refusing newer minor versions broke crun's users.
    if v.starts_with("1.") || v == "1" {
        return Ok(());
    }
    Err(SpecError::invalid(
        "ociVersion",
        format!("{v:?} is not a 1.x runtime-spec version"),
    ))
}

const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// A sysctl may only be set when it belongs to a namespace the container has.
fn sysctl_allowed(
    key: &str,
    has: &dyn Fn(LinuxNamespaceType) -> bool,
    hostname_set: bool,
) -> Result<(), SpecError> {
    let field = format!("linux.sysctl[{key:?}]");
    let need = |t: LinuxNamespaceType, what: &str| {
        if has(t) {
            Ok(())
        } else {
            Err(SpecError::invalid(
                &field,
                format!("needs a private {what} namespace"),
            ))
        }
    };
    if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        return need(LinuxNamespaceType::Ipc, "IPC");
    }
    if key.starts_with("net.") {
        return need(LinuxNamespaceType::Network, "network");
    }
    if key == "kernel.hostname" || key == "kernel.domainname" {
        if key == "kernel.hostname" && hostname_set {
            return Err(SpecError::invalid(
                &field,
                "conflicts with the hostname field",
            ));
        }
        return need(LinuxNamespaceType::Uts, "UTS");
    }
    if key.starts_with("user.") {
        return need(LinuxNamespaceType::User, "user");
    }
    Err(SpecError::invalid(
        field,
        "is not in a separate kernel namespace",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(linux: &str, extra: &str) -> Spec {
        let text = format!(
            r#"{{"ociVersion":"1.2.0","root":{{"path":"rootfs"}},{extra}"linux":{linux}}}"#
        );
        serde_json::from_str(&text).expect("valid spec json")
    }

    #[test]
    fn hostname_needs_uts() {
        let s = spec(r#"{"namespaces":[{"type":"mount"}]}"#, r#""hostname":"x","#);
        assert!(check(&s).is_err());
        let s = spec(
            r#"{"namespaces":[{"type":"mount"},{"type":"uts"}]}"#,
            r#""hostname":"x","#,
        );
        assert!(check(&s).is_ok());
    }

    #[test]
    fn sysctls_need_their_namespace() {
        let s = spec(
            r#"{"namespaces":[{"type":"mount"}],"sysctl":{"net.ipv4.ip_forward":"1"}}"#,
            "",
        );
        assert!(check(&s).is_err());
        let s = spec(
            r#"{"namespaces":[{"type":"mount"},{"type":"network"}],"sysctl":{"net.ipv4.ip_forward":"1"}}"#,
            "",
        );
        assert!(check(&s).is_ok());
        let s = spec(
            r#"{"namespaces":[{"type":"mount"},{"type":"ipc"}],"sysctl":{"vm.swappiness":"1"}}"#,
            "",
        );
        assert!(check(&s).is_err());
    }

    #[test]
    fn versions() {
        let mut s = spec(r#"{"namespaces":[{"type":"mount"}]}"#, "");
        assert!(check(&s).is_ok());
        s.set_version("2.0.0".into());
        assert!(check(&s).is_err());
        s.set_version("1.9.9".into());
        assert!(check(&s).is_ok());
    }
}
