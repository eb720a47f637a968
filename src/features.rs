//! `rrun features`: the runtime-spec features document, listing only what
//! rrun really does (engines decide from it: Docker 25+ needs "rro",
//! containerd 2 needs idmap before it asks for idmapped mounts).

use serde_json::{json, Value};

use crate::rootfs::options::known_option_names;

pub fn features() -> Value {
    let mut options: Vec<&str> = known_option_names()
        .into_iter()
        // As runc: idmap and ridmap are advertised as mountExtensions.idmap.
        .filter(|o| *o != "idmap" && *o != "ridmap")
        .collect();
    options.sort_unstable();
    let mut caps: Vec<(u8, String)> = caps::all()
        .into_iter()
        .map(|c| (c.index(), c.to_string()))
        .collect();
    caps.sort();
    let caps: Vec<String> = caps.into_iter().map(|(_, n)| n).collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": options,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false},
            "seccomp": seccomp(),
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": true}}
        },
        "annotations": {
            "io.github.seccomp.libseccomp.version": crate::seccomp::libseccomp_version(),
            "org.opencontainers.rrun.commit": crate::COMMIT,
            "org.opencontainers.rrun.version": crate::VERSION
        },
        "potentiallyUnsafeConfigAnnotations": []
    })
}

fn seccomp() -> Value {
    use crate::seccomp::{FLAG_LOG, FLAG_SPEC_ALLOW, FLAG_TSYNC, FLAG_WAIT_KILLABLE_RECV};
    let known = [
        ("SECCOMP_FILTER_FLAG_TSYNC", FLAG_TSYNC),
        ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", FLAG_SPEC_ALLOW),
        ("SECCOMP_FILTER_FLAG_LOG", FLAG_LOG),
        (
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            FLAG_WAIT_KILLABLE_RECV,
        ),
    ];
    let supported: Vec<&str> = known
        .iter()
        // WAIT_KILLABLE_RECV is only valid together with NEW_LISTENER.
        .filter(|(_, f)| {
            let with = if *f == FLAG_WAIT_KILLABLE_RECV {
                *f | crate::seccomp::FLAG_NEW_LISTENER
            } else {
                *f
            };
            crate::sys::seccomp_flag_supported(with)
        })
        .map(|(n, _)| *n)
        .collect();
    json!({
        "enabled": true,
        "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
        "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                      "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
        "archs": crate::seccomp::supported_archs(),
        "knownFlags": known.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "supportedFlags": supported
    })
}

/// The document as runc prints it: 4-space indent and a newline.
pub fn render() -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    let _ = serde::Serialize::serialize(&features(), &mut ser);
    format!("{}\n", String::from_utf8_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertises_rro_but_not_idmap() {
        let f = features();
        let opts = f["mountOptions"].as_array().expect("list");
        assert!(opts.iter().any(|o| o == "rro"));
        assert!(!opts.iter().any(|o| o == "idmap"));
        assert!(f["linux"]["capabilities"]
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x == "CAP_SYS_ADMIN")));
    }
}
