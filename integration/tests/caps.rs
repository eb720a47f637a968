//! The capability examples of the security issue, as a process inside
//! observes them: adding a link needs CAP_NET_ADMIN; every capability the
//! host has but MKNOD leaves exactly mknod refused; a FUSE mount needs both
//! CAP_SYS_ADMIN and the /dev/fuse device.

use integration::*;
use serde_json::{json, Value};

/// Capability names by number (include/uapi/linux/capability.h).
const CAP_NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];
const CAP_MKNOD: usize = 27;

fn with_caps(b: Bundle, names: &[String]) -> Bundle {
    b.caps(names)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| format!("CAP_{n}")).collect()
}

/// This process's bounding set (the host's, for a root test run).
fn host_bounding() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

fn ifb_available() -> bool {
    std::fs::read_to_string("/proc/modules").is_ok_and(|m| m.lines().any(|l| l.starts_with("ifb ")))
        || std::path::Path::new("/sys/module/ifb").exists()
}

#[test]
fn adding_a_link_needs_net_admin() {
    if !ifb_available() {
        eprintln!("skipped: no ifb driver loaded (modules cannot be loaded here)");
        return;
    }
    let script = "ip link add ifb0 type ifb 2>&1 && ip -o link show ifb0 | cut -d: -f2";
    let r = sh(Bundle::new("netadm-default"), script);
    assert!(
        r.stdout.contains("Operation not permitted"),
        "default caps: {:?} {:?}",
        r.stdout,
        r.stderr
    );
    let b = with_caps(Bundle::new("netadm"), &names(&["NET_ADMIN"]));
    let r = sh(b, script).expect_ok();
    assert_eq!(r.stdout.trim(), "ifb0");
}

#[test]
fn every_host_capability_but_mknod() {
    let bnd = host_bounding();
    let all: Vec<String> = (0..CAP_NAMES.len())
        .filter(|&i| i != CAP_MKNOD && bnd & (1 << i) != 0)
        .map(|i| format!("CAP_{}", CAP_NAMES[i]))
        .collect();
    let b = with_caps(Bundle::new("allbutmknod"), &all);
    let r = sh(
        b,
        "grep CapEff /proc/self/status | cut -f2; \
         mknod /tmp/null c 1 3 2>&1 || true; \
         mkdir /tmp/m && mount -t tmpfs t /tmp/m && echo mount-ok; \
         touch /tmp/f && chown 5:5 /tmp/f && echo chown-ok; \
         hostname other && echo hostname-ok; \
         ip link set lo up && echo net-ok",
    )
    .expect_ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    let eff = u64::from_str_radix(lines[0].trim(), 16).unwrap_or(0);
    assert_eq!(eff, bnd & !(1 << CAP_MKNOD), "effective set");
    assert!(
        lines[1].contains("Operation not permitted"),
        "mknod: {}",
        lines[1]
    );
    assert_eq!(
        &lines[2..],
        ["mount-ok", "chown-ok", "hostname-ok", "net-ok"]
    );
}

/// A FUSE mount from the kernel's side: /dev/fuse opened, mount(2) with its
/// descriptor (no daemon needed for the mount itself). `<>` would create a
/// regular file where the node is missing: test for the node first.
const FUSE_MOUNT: &str = "mkdir /tmp/m; \
    [ -c /dev/fuse ] || { echo no-device; exit 0; }; exec 3<>/dev/fuse; \
    mount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 fusetest /tmp/m 2>&1 && \
    grep -c ' fuse fusetest ' /proc/self/mountinfo";

fn fuse_bundle(tag: &str, sys_admin: bool, device: bool) -> Bundle {
    let caps = if sys_admin {
        names(&["SYS_ADMIN"])
    } else {
        names(&["AUDIT_WRITE", "KILL", "NET_BIND_SERVICE"])
    };
    with_caps(Bundle::new(tag), &caps).edit(|s| {
        if device {
            s["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                            "fileMode": 438, "uid": 0, "gid": 0}]);
            let rules: &mut Value = &mut s["linux"]["resources"]["devices"];
            rules
                .as_array_mut()
                .expect("device rules")
                .push(json!({"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}));
        }
    })
}

#[test]
fn fuse_needs_sys_admin_and_the_device() {
    if !std::path::Path::new("/dev/fuse").exists() {
        eprintln!("skipped: the host has no /dev/fuse");
        return;
    }
    let both = sh(fuse_bundle("fuse", true, true), FUSE_MOUNT).expect_ok();
    assert_eq!(both.stdout.trim(), "1", "stderr: {}", both.stderr);
    let no_device = sh(fuse_bundle("fuse-nodev", true, false), FUSE_MOUNT).expect_ok();
    assert_eq!(no_device.stdout.trim(), "no-device");
    // busybox mount words EPERM as "permission denied (are you root?)".
    let no_cap = sh(fuse_bundle("fuse-nocap", false, true), FUSE_MOUNT);
    assert!(
        !no_cap.ok(),
        "mounted without CAP_SYS_ADMIN: {:?}",
        no_cap.stdout
    );
    assert!(
        no_cap.stdout.to_lowercase().contains("permission denied")
            || no_cap.stdout.contains("Operation not permitted"),
        "without CAP_SYS_ADMIN: {:?}",
        no_cap.stdout
    );
}
