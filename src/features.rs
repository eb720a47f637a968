//! `rrun features`: the runtime-spec features document, listing only what
//! rrun really does (engines decide from it: Docker 25+ needs "rro",
//! containerd 2 needs idmap before it asks for idmapped mounts).

use serde_json::{json, Value};

use crate::rootfs::options::known_option_names;

pub fn features() -> Value {
    let mut options: Vec<&str> = known_option_names()
        .into_iter()
        // Not implemented yet: advertised once they work.
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
            "seccomp": {"enabled": false},
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}}
        },
        "annotations": {
            "org.opencontainers.rrun.commit": crate::COMMIT,
            "org.opencontainers.rrun.version": crate::VERSION
        },
        "potentiallyUnsafeConfigAnnotations": []
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
