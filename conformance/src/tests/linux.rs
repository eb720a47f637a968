//! config-linux.md: default filesystems, namespaces, user namespace
//! mappings, time offsets, devices, default devices, network devices,
//! sysctl, seccomp, rootfs propagation, masked and readonly paths, mount
//! label, personality, Intel RDT, memory policy.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;

use serde_json::{json, Value};

use crate::harness::*;
use crate::tests::mounts::userns_bundle;
use crate::tests::process::run_terminal;
use crate::tests::Test;
use crate::{ensure, skip, t};

macro_rules! ns {
    ($kind:literal, $ty:literal, $link:literal, $since:literal, $f:ident) => {
        t!(
            concat!("linux.ns-", $ty, "-", $kind),
            $since,
            concat!("namespace type ", $ty, ": ", $kind),
            |c| $f(c, $ty, $link)
        )
    };
}

macro_rules! dev {
    ($name:literal, $maj:literal, $min:literal) => {
        t!(concat!("linux.default-device-", $name), "1.0.0",
           concat!("In addition to any devices configured with this setting, the runtime MUST also supply /dev/", $name, "."),
           |c| default_device(c, $name, $maj, $min))
    };
}

pub fn tests() -> Vec<Test> {
    vec![
        t!("linux.default-filesystems", "1.0.0", "The following filesystems SHOULD be made available in each container's filesystem: /proc proc, /sys sysfs, /dev/pts devpts, /dev/shm tmpfs.", default_fs),
        ns!("created", "pid", "pid", "1.0.0", ns_created), ns!("created", "network", "net", "1.0.0", ns_created),
        ns!("created", "mount", "mnt", "1.0.0", ns_created), ns!("created", "ipc", "ipc", "1.0.0", ns_created),
        ns!("created", "uts", "uts", "1.0.0", ns_created), ns!("created", "user", "user", "1.0.0", ns_created),
        ns!("created", "cgroup", "cgroup", "1.0.0", ns_created), ns!("created", "time", "time", "1.1.0", ns_created),
        ns!("joined", "pid", "pid", "1.0.0", ns_joined), ns!("joined", "network", "net", "1.0.0", ns_joined),
        ns!("joined", "mount", "mnt", "1.0.0", ns_joined), ns!("joined", "ipc", "ipc", "1.0.0", ns_joined),
        ns!("joined", "uts", "uts", "1.0.0", ns_joined), ns!("joined", "user", "user", "1.0.0", ns_joined),
        ns!("joined", "cgroup", "cgroup", "1.0.0", ns_joined), ns!("joined", "time", "time", "1.1.0", ns_joined),
        ns!("inherited", "pid", "pid", "1.0.0", ns_inherited), ns!("inherited", "network", "net", "1.0.0", ns_inherited),
        ns!("inherited", "ipc", "ipc", "1.0.0", ns_inherited), ns!("inherited", "uts", "uts", "1.0.0", ns_inherited),
        ns!("inherited", "user", "user", "1.0.0", ns_inherited), ns!("inherited", "cgroup", "cgroup", "1.0.0", ns_inherited),
        ns!("inherited", "time", "time", "1.1.0", ns_inherited),
        t!("linux.ns-path-wrong-type-errors", "1.0.0", "The runtime MUST generate an error if path is not associated with a namespace of type type.", ns_wrong_type),
        t!("linux.ns-path-relative-errors", "1.0.0", "path MUST be an absolute path in the runtime mount namespace: a relative path is an invalid value and MUST generate an error.", ns_relative),
        t!("linux.ns-duplicate-errors", "1.0.0", "If a namespaces field contains duplicated namespaces with same type, the runtime MUST generate an error.", ns_duplicate),
        t!("linux.userns-mappings", "1.0.0", "uidMappings and gidMappings describe the user namespace uid and gid mappings from the host to the container.", userns_mappings),
        t!("linux.userns-no-chown", "1.0.0", "The runtime SHOULD NOT modify the ownership of referenced filesystems to realize the mapping.", userns_no_chown),
        t!("linux.timeOffsets", "1.1.0", "timeOffsets sets the offset for Time Namespace (monotonic and boottime secs and nanosecs).", time_offsets),
        t!("linux.device-char", "1.0.0", "devices lists devices that MUST be available in the container (type c).", |c| device(c, "c")),
        t!("linux.device-block", "1.0.0", "devices lists devices that MUST be available in the container (type b).", |c| device(c, "b")),
        t!("linux.device-unbuffered", "1.0.0", "devices lists devices that MUST be available in the container (type u: unbuffered character device).", |c| device(c, "u")),
        t!("linux.device-fifo", "1.0.0", "devices lists devices that MUST be available in the container (type p: FIFO).", |c| device(c, "p")),
        t!("linux.device-attributes", "1.0.0", "devices: fileMode, uid and gid of the device in the container namespace.", device_attrs),
        t!("linux.device-existing-file-errors", "1.0.0", "If a file already exists at path that does not match the requested device, the runtime MUST generate an error.", device_exists),
        dev!("null", 1, 3), dev!("zero", 1, 5), dev!("full", 1, 7), dev!("random", 1, 8), dev!("urandom", 1, 9), dev!("tty", 5, 0),
        t!("linux.default-device-ptmx", "1.0.0", "The runtime MUST also supply /dev/ptmx: a bind-mount or symlink of the container's /dev/pts/ptmx.", ptmx),
        t!("linux.default-device-console", "1.0.0", "The runtime MUST also supply /dev/console, set up if terminal is enabled in the config by bind mounting the pseudoterminal pty to /dev/console.", console),
        t!("linux.netDevices-moved", "1.3.0", "netDevices: a set of network devices that MUST be made available in the container.", |c| netdev(c, "moved")),
        t!("linux.netDevices-renamed", "1.3.0", "netDevices name: the name of the network device inside the container namespace.", |c| netdev(c, "renamed")),
        t!("linux.netDevices-up", "1.3.0", "The runtime MUST set the network device state to \"up\" after moving it to the network namespace.", |c| netdev(c, "up")),
        t!("linux.netDevices-addresses", "1.3.0", "The runtime MUST preserve existing network interface attributes, including all permanent IP addresses of any family with global scope.", |c| netdev(c, "addresses")),
        t!("linux.netDevices-name-exists-errors", "1.3.0", "If a network device with the specified name already exists in the container namespace, the runtime MUST generate an error.", |c| netdev(c, "exists")),
        t!("linux.netDevices-template", "1.3.0", "Unless the user has provided a template by appending %d to the new name: then the runtime MUST allow the move.", |c| netdev(c, "template")),
        t!("linux.netDevices-missing-errors", "1.3.0", "The runtime MUST check if moving the network interface to the container namespace is possible (a device that does not exist).", |c| netdev(c, "missing")),
        t!("linux.netDevices-not-moved-back", "1.3.0", "The runtime MUST NOT attempt to move the interface out of the namespace before deletion (a virtual device dies with the namespace).", |c| netdev(c, "not-moved-back")),
        t!("linux.sysctl", "1.0.0", "sysctl allows kernel parameters to be modified at runtime for the container.", sysctl),
        t!("linux.seccomp-errno", "1.0.0", "seccomp: a matched syscall gets the action SCMP_ACT_ERRNO with errnoRet.", seccomp_errno),
        t!("linux.seccomp-errno-default-eperm", "1.0.0", "errnoRet: the default is EPERM.", seccomp_eperm),
        t!("linux.seccomp-kill", "1.0.0", "seccomp: SCMP_ACT_KILL kills the process on the matched syscall.", seccomp_kill),
        t!("linux.seccomp-args", "1.0.0", "seccomp args: index, value and op select the syscall by its arguments.", seccomp_args),
        t!("linux.seccomp-filter-installed", "1.0.0", "seccomp: a filter is installed for the container process (Seccomp: 2).", seccomp_mode),
        t!("linux.seccomp-defaultErrnoRet-unsupported-errors", "1.1.0", "defaultErrnoRet: when the action doesn't support an errno, the runtime MUST print and error and fail.", seccomp_default_errno_bad),
        t!("linux.seccomp-errnoRet-unsupported-errors", "1.1.0", "errnoRet: when the action doesn't support an errno, the runtime MUST print and error and fail.", seccomp_errno_bad),
        t!("linux.seccomp-names-empty-errors", "1.0.0", "names MUST contain at least one entry: an empty names is an invalid value and MUST generate an error.", seccomp_names_empty),
        t!("linux.seccomp-metadata-without-listener-errors", "1.1.0", "listenerMetadata MUST NOT be set if listenerPath is not set: such a config is invalid and MUST generate an error.", seccomp_meta),
        t!("linux.seccomp-notify-state", "1.1.0", "The container runtime MUST send the container process state over the UNIX socket as regular payload serialized in JSON and file descriptors MUST be sent using SCM_RIGHTS (seccompFd).", |c| notify(c, "state")),
        t!("linux.seccomp-notify-one-per-connection", "1.1.0", "The runtime MUST send exactly one container process state per connection; the connection MUST NOT be reused and it MUST be closed after sending a seccomp state.", |c| notify(c, "one")),
        t!("linux.seccomp-notify-send-failure-errors", "1.1.0", "If sending to this socket fails, the runtime MUST generate an error.", seccomp_notify_fail),
        t!("linux.rootfsPropagation-shared", "1.0.0", "rootfsPropagation shared: the rootfs mount belongs to a new peer group.", |c| rootfs_prop(c, "shared")),
        t!("linux.rootfsPropagation-slave", "1.0.0", "rootfsPropagation slave: the rootfs mount receives propagation events from the host but not the other way around.", |c| rootfs_prop(c, "slave")),
        t!("linux.rootfsPropagation-private", "1.0.0", "rootfsPropagation private: the rootfs mount doesn't receive mount propagation events from the host.", |c| rootfs_prop(c, "private")),
        t!("linux.rootfsPropagation-unbindable", "1.0.0", "rootfsPropagation unbindable: the rootfs mount is a private mount that cannot be bind-mounted.", |c| rootfs_prop(c, "unbindable")),
        t!("linux.maskedPaths", "1.0.0", "maskedPaths will mask over the provided paths inside the container so that they cannot be read (a file and a directory).", masked),
        t!("linux.maskedPaths-relative-errors", "1.0.0", "maskedPaths values MUST be absolute paths in the container namespace: a relative one is an invalid value and MUST generate an error.", |c| relative_path(c, "maskedPaths")),
        t!("linux.readonlyPaths", "1.0.0", "readonlyPaths will set the provided paths as readonly inside the container.", readonly),
        t!("linux.readonlyPaths-relative-errors", "1.0.0", "readonlyPaths values MUST be absolute paths in the container namespace: a relative one is an invalid value and MUST generate an error.", |c| relative_path(c, "readonlyPaths")),
        t!("linux.mountLabel", "1.0.0", "mountLabel will set the Selinux context for the mounts in the container.", mount_label),
        t!("linux.personality-linux32", "1.0.2", "personality domain LINUX32 will set the uname system call to show a 32 bit CPU type, such as i686.", |c| personality(c, "LINUX32")),
        t!("linux.personality-linux", "1.0.2", "personality domain LINUX: the native execution domain.", |c| personality(c, "LINUX")),
        t!("linux.intelRdt-no-resctrl-errors", "1.0.0", "If no mounted resctrl pseudo-filesystem is available in the runtime mount namespace, the runtime MUST generate an error.", intel_rdt),
        t!("linux.memoryPolicy-interleave", "1.3.0", "memoryPolicy sets the NUMA memory policy for the container (MPOL_INTERLEAVE).", |c| mempolicy(c, "MPOL_INTERLEAVE", "interleave")),
        t!("linux.memoryPolicy-bind", "1.3.0", "memoryPolicy sets the NUMA memory policy for the container (MPOL_BIND).", |c| mempolicy(c, "MPOL_BIND", "bind")),
    ]
}

fn default_fs(c: &Ctx) -> Res {
    let v = c.report(c.bundle())?;
    let mi = v["mountinfo"].as_str().unwrap_or("");
    for (mp, ty) in [
        ("/proc", "proc"),
        ("/sys", "sysfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
    ] {
        ensure!(
            mount_at(mi, mp).is_some_and(|m| m.fstype == ty),
            "{mp} is not a {ty}"
        );
    }
    Ok(())
}

fn ns_bundle(c: &Ctx, ty: &str) -> Bundle {
    let b = if ty == "user" {
        userns_bundle(c)
    } else {
        c.bundle()
    };
    b.ns_add(json!({"type": ty}))
}

fn readlink_in(c: &Ctx, b: Bundle, link: &str) -> Result<String, Why> {
    Ok(c.shell(b, &format!("readlink /proc/self/ns/{link}"))?
        .trim()
        .to_string())
}

fn ns_created(c: &Ctx, ty: &str, link: &str) -> Res {
    let got = readlink_in(c, ns_bundle(c, ty), link)?;
    ensure!(
        !got.is_empty() && got != ns_of("self", link),
        "{ty}: container {got:?}, runtime {}",
        ns_of("self", link)
    );
    Ok(())
}

/// A holder process in a new namespace of `ty`; the pid whose ns to join.
fn holder(c: &Ctx, ty: &str) -> Result<u32, Why> {
    let flag = match ty {
        "network" => "--net",
        "mount" => "--mount",
        "user" => "--user",
        other => match other {
            "pid" => "--pid",
            "ipc" => "--ipc",
            "uts" => "--uts",
            "cgroup" => "--cgroup",
            _ => "--time",
        },
    };
    let forks = ty == "pid" || ty == "time";
    let mut args = vec!["unshare", flag];
    if forks {
        args.push("--fork");
    }
    if ty == "mount" {
        args.extend(["--propagation", "private"]);
    }
    args.extend(["sleep", "600"]);
    let pid = c.spawn_holder(&args)?;
    let target = if forks {
        let mut child = 0u32;
        eventually(3000, || {
            child = read(format!("/proc/{pid}/task/{pid}/children"))
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            child != 0
        });
        child
    } else {
        pid
    };
    let link = if ty == "network" {
        "net"
    } else if ty == "mount" {
        "mnt"
    } else {
        ty
    };
    ensure!(
        target != 0
            && eventually(3000, || ns_of(&target.to_string(), link)
                != ns_of("self", link)),
        "holder for {ty} did not start"
    );
    if ty == "user" {
        for f in ["uid_map", "gid_map"] {
            std::fs::write(format!("/proc/{target}/{f}"), "0 100000 65536")
                .map_err(|e| Why::Fail(format!("write {f}: {e}")))?;
        }
    }
    Ok(target)
}

fn ns_joined(c: &Ctx, ty: &str, link: &str) -> Res {
    let h = holder(c, ty)?;
    let want = ns_of(&h.to_string(), link);
    // A joined user namespace brings its own mappings.
    let b = c
        .bundle()
        .ns_add(json!({"type": ty, "path": format!("/proc/{h}/ns/{link}")}));
    let got = readlink_in(c, b, link)?;
    ensure!(
        got == want,
        "{ty}: container {got:?}, joined path's {want:?}"
    );
    Ok(())
}

fn ns_inherited(c: &Ctx, ty: &str, link: &str) -> Res {
    let mut b = c.bundle().ns_remove(ty);
    if ty == "uts" {
        // hostname and domainname need a private UTS namespace.
        if let Some(o) = b.spec.as_object_mut() {
            o.remove("hostname");
            o.remove("domainname");
        }
    }
    let got = readlink_in(c, b, link)?;
    ensure!(
        got == ns_of("self", link),
        "{ty}: container {got:?}, runtime {}",
        ns_of("self", link)
    );
    Ok(())
}

fn ns_wrong_type(c: &Ctx) -> Res {
    let h = holder(c, "ipc")?;
    let b = c
        .bundle()
        .ns_add(json!({"type": "network", "path": format!("/proc/{h}/ns/ipc")}));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "a network namespace path pointing to an ipc namespace was accepted"
    );
    Ok(())
}

fn ns_relative(c: &Ctx) -> Res {
    let h = holder(c, "network")?;
    let b = c
        .bundle()
        .ns_add(json!({"type": "network", "path": format!("proc/{h}/ns/net")}));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "a relative namespace path was accepted"
    );
    Ok(())
}

fn ns_duplicate(c: &Ctx) -> Res {
    let mut b = c.bundle();
    if let Some(a) = b.spec["linux"]["namespaces"].as_array_mut() {
        a.push(json!({"type": "network"}));
    }
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "duplicated network namespaces were accepted"
    );
    Ok(())
}

fn userns_mappings(c: &Ctx) -> Res {
    let m = json!([{"containerID": 0, "hostID": 100000, "size": 1000}, {"containerID": 1000, "hostID": 300000, "size": 500}]);
    let b = c
        .bundle()
        .ns_add(json!({"type": "user"}))
        .set("/linux/uidMappings", m.clone())
        .set("/linux/gidMappings", m);
    let v = c.report(b)?;
    let norm = |s: &Value| {
        s.as_str()
            .unwrap_or("")
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    let want = vec!["0 100000 1000".to_string(), "1000 300000 500".to_string()];
    ensure!(norm(&v["uid_map"]) == want, "uid_map {:?}", v["uid_map"]);
    ensure!(norm(&v["gid_map"]) == want, "gid_map {:?}", v["gid_map"]);
    Ok(())
}

fn userns_no_chown(c: &Ctx) -> Res {
    use std::os::unix::fs::MetadataExt;
    let mut b = userns_bundle(c);
    let rootfs = b.private_rootfs(&c.rt.rootfs)?;
    let before: Vec<(u32, u32)> = ["bin/busybox", "etc/passwd", "tmp"]
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(rootfs.join(p)).ok())
        .map(|m| (m.uid(), m.gid()))
        .collect();
    c.report(b)?;
    let after: Vec<(u32, u32)> = ["bin/busybox", "etc/passwd", "tmp"]
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(rootfs.join(p)).ok())
        .map(|m| (m.uid(), m.gid()))
        .collect();
    ensure!(
        before == after,
        "rootfs ownership changed: {before:?} -> {after:?}"
    );
    Ok(())
}

fn time_offsets(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .ns_add(json!({"type": "time"}))
        .set("/linux/timeOffsets", json!({"monotonic": {"secs": 172800, "nanosecs": 0}, "boottime": {"secs": 604800, "nanosecs": 5}}));
    let out = c.shell(b, "cat /proc/self/timens_offsets")?;
    let norm: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    ensure!(
        norm.contains(&"monotonic 172800 0".to_string())
            && norm.contains(&"boottime 604800 5".to_string()),
        "timens_offsets {out:?}"
    );
    Ok(())
}

fn stat(c: &Ctx, b: Bundle, path: &str) -> Result<String, Why> {
    Ok(c.shell(b, &format!("stat -c '%F|%t:%T|%a|%u|%g' {path}"))?
        .trim()
        .to_string())
}

fn device(c: &Ctx, ty: &str) -> Res {
    let (maj, min, want) = match ty {
        "b" => (7, 200, "block special file|7:c8"),
        "p" => (0, 0, "fifo|0:0"),
        _ => (1, 3, "character special file|1:3"),
    };
    let mut d = json!({"path": "/dev/cf-dev", "type": ty, "major": maj, "minor": min});
    if ty == "p" {
        d = json!({"path": "/dev/cf-dev", "type": "p"});
    }
    let got = stat(
        c,
        c.bundle().set("/linux/devices", json!([d])),
        "/dev/cf-dev",
    )?;
    ensure!(got.starts_with(want), "/dev/cf-dev: {got:?} (want {want})");
    Ok(())
}

fn device_attrs(c: &Ctx) -> Res {
    let d = json!({"path": "/dev/cf-dev", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1001});
    let got = stat(
        c,
        c.bundle().set("/linux/devices", json!([d])),
        "/dev/cf-dev",
    )?;
    ensure!(
        got == "character special file|1:3|640|1000|1001",
        "/dev/cf-dev: {got:?}"
    );
    Ok(())
}

fn device_exists(c: &Ctx) -> Res {
    let mut b = c.bundle();
    let rootfs = b.private_rootfs(&c.rt.rootfs)?;
    std::fs::write(rootfs.join("cf-node"), "a regular file")
        .map_err(|e| Why::Fail(e.to_string()))?;
    let b = b.set("/root/readonly", json!(false)).set(
        "/linux/devices",
        json!([{"path": "/cf-node", "type": "c", "major": 1, "minor": 3}]),
    );
    let r = c.try_create(&b, &[]);
    ensure!(
        r.is_err(),
        "a device at the path of an existing regular file was accepted"
    );
    Ok(())
}

fn default_device(c: &Ctx, name: &str, maj: u32, min: u32) -> Res {
    let got = stat(c, c.bundle(), &format!("/dev/{name}"))?;
    let want = format!("character special file|{maj:x}:{min:x}|");
    ensure!(
        got.starts_with(&want),
        "/dev/{name}: {got:?} (want {want}…)"
    );
    Ok(())
}

fn ptmx(c: &Ctx) -> Res {
    let out = c.shell(
        c.bundle(),
        "readlink /dev/ptmx; stat -L -c '%t:%T' /dev/ptmx; stat -c '%t:%T' /dev/pts/ptmx",
    )?;
    let l: Vec<&str> = out.lines().collect();
    let symlink = matches!(l.first(), Some(&"pts/ptmx") | Some(&"/dev/pts/ptmx"));
    let same = l.len() >= 2 && l[l.len() - 1] == l[l.len() - 2];
    ensure!(
        symlink || same,
        "/dev/ptmx is neither a symlink to nor a bind of /dev/pts/ptmx: {out:?}"
    );
    Ok(())
}

fn console(c: &Ctx) -> Res {
    let out = run_terminal(c, c.bundle().sh("stat -c '%t' /dev/console; tty"))?;
    let l: Vec<&str> = out.lines().map(str::trim).collect();
    // Unix98 pty slaves are major 136-143 (0x88-0x8f).
    ensure!(
        l.first()
            .is_some_and(|m| m.starts_with('8') && m.len() == 2),
        "/dev/console is not a pty: {out:?}"
    );
    Ok(())
}

fn netdev(c: &Ctx, what: &str) -> Res {
    let name = format!(
        "cfd{}",
        uniq() % 100000 + (std::process::id() % 100) as usize * 100000
    );
    let name = name.chars().take(15).collect::<String>();
    if what != "missing" {
        let o = sh(&format!("ip link add {name} type veth peer name {name}p"));
        ensure!(o.ok(), "ip link add: {}", o.brief());
        let n2 = name.clone();
        c.on_cleanup(move || {
            let _ = sh(&format!("ip link del {n2} 2>/dev/null"));
        });
        if what == "addresses" {
            sh(&format!("ip addr add 192.0.2.10/24 dev {name}")).must("ip addr add")?;
        }
    }
    let entry = match what {
        "renamed" => json!({"name": "cfinner0"}),
        "exists" => json!({"name": "lo"}),
        "template" => json!({"name": "cfeth%d"}),
        _ => json!({}),
    };
    let b = c
        .bundle()
        .set("/linux/netDevices", json!({ name.clone(): entry }))
        .sh("ip -o link show; ip -o addr show");
    match what {
        "exists" | "missing" => {
            ensure!(c.try_create(&b, &[]).is_err(), "create succeeded");
            return Ok(());
        }
        _ => {}
    }
    let (ctr, out) = c.create_start_wait(&b)?;
    match what {
        "moved" => ensure!(
            out.contains(&format!(": {name}:")) || out.contains(&format!(": {name}@")),
            "{name} not in the container: {out:?}"
        ),
        "renamed" => ensure!(
            out.contains("cfinner0"),
            "cfinner0 not in the container: {out:?}"
        ),
        "template" => ensure!(
            out.contains("cfeth0"),
            "cfeth0 not in the container: {out:?}"
        ),
        "up" => ensure!(
            out.lines().any(|l| l.contains(&format!(": {name}"))
                && l.split(['<', '>'])
                    .nth(1)
                    .is_some_and(|f| f.split(',').any(|x| x == "UP"))),
            "{name} not up: {out:?}"
        ),
        "addresses" => ensure!(
            out.contains("192.0.2.10/24"),
            "address not preserved: {out:?}"
        ),
        _ => {
            c.rt(&["delete", &ctr.id]).must("delete")?;
            ensure!(
                eventually(5000, || !sh(&format!("ip link show {name}")).ok()),
                "{name} is back in the host namespace after delete"
            );
        }
    }
    Ok(())
}

fn sysctl(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/linux/sysctl",
        json!({"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}),
    );
    let out = c.shell(
        b,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni",
    )?;
    ensure!(
        out.split_whitespace().collect::<Vec<_>>() == ["1", "1234"],
        "sysctl values {out:?}"
    );
    Ok(())
}

fn sec(rules: Value) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})
}

fn seccomp_errno(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/linux/seccomp",
        sec(json!([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}])),
    );
    let out = c.shell(b, "mkdir /tmp/x 2>&1; echo rc=$?")?;
    ensure!(
        out.contains("Not supported") || out.contains("not supported"),
        "mkdir did not fail with EOPNOTSUPP: {out:?}"
    );
    Ok(())
}

fn seccomp_eperm(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/linux/seccomp",
        sec(json!([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}])),
    );
    let out = c.shell(b, "mkdir /tmp/x 2>&1; echo rc=$?")?;
    ensure!(
        out.contains("Operation not permitted"),
        "mkdir did not fail with EPERM: {out:?}"
    );
    Ok(())
}

fn seccomp_kill(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set(
            "/linux/seccomp",
            sec(json!([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}])),
        )
        .sh("exec mkdir /tmp/x");
    let o = c.run(&b);
    ensure!(
        o.code == 128 + 31,
        "the process was not killed by SIGSYS: {}",
        o.brief()
    );
    Ok(())
}

fn seccomp_args(c: &Ctx) -> Res {
    let rules = json!([
        {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95, "args": [{"index": 2, "value": 448, "op": "SCMP_CMP_EQ"}]},
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95, "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]}
    ]);
    let b = c.bundle().set("/linux/seccomp", sec(rules));
    let out = c.shell(
        b,
        "touch /tmp/f; chmod 600 /tmp/f && echo 600ok; chmod 700 /tmp/f 2>&1 || echo 700failed",
    )?;
    ensure!(
        out.contains("600ok") && out.contains("700failed"),
        "argument filter: {out:?}"
    );
    Ok(())
}

fn seccomp_mode(c: &Ctx) -> Res {
    let v = c.report(c.bundle().set(
        "/linux/seccomp",
        sec(json!([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}])),
    ))?;
    ensure!(v["seccomp"] == "2", "Seccomp: {}", v["seccomp"]);
    Ok(())
}

fn seccomp_default_errno_bad(c: &Ctx) -> Res {
    let b = c.bundle().set("/linux/seccomp", json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5, "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}));
    ensure!(
        !c.run(&b).ok(),
        "defaultErrnoRet with SCMP_ACT_ALLOW was accepted"
    );
    Ok(())
}

fn seccomp_errno_bad(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/linux/seccomp",
        sec(json!([{"names": ["mkdir"], "action": "SCMP_ACT_KILL", "errnoRet": 5}])),
    );
    ensure!(!c.run(&b).ok(), "errnoRet with SCMP_ACT_KILL was accepted");
    Ok(())
}

fn seccomp_names_empty(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/linux/seccomp",
        sec(json!([{"names": [], "action": "SCMP_ACT_ERRNO"}])),
    );
    ensure!(!c.run(&b).ok(), "an empty names list was accepted");
    Ok(())
}

fn seccomp_meta(c: &Ctx) -> Res {
    let b = c.bundle().set("/linux/seccomp", json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}));
    ensure!(
        !c.run(&b).ok(),
        "listenerMetadata without listenerPath was accepted"
    );
    Ok(())
}

fn notify(c: &Ctx, what: &str) -> Res {
    let path = c.dir.join(format!("seccomp{}.sock", uniq()));
    let listener = UnixListener::bind(&path).map_err(|e| Why::Fail(format!("bind: {e}")))?;
    listener.set_nonblocking(true).ok();
    let b = c.bundle().set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path, "listenerMetadata": "conformance-meta",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    let handle = std::thread::spawn(move || -> Result<(Vec<u8>, usize, bool), String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(e) => return Err(format!("no connection: {e}")),
            }
        };
        stream.set_nonblocking(false).ok();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .ok();
        let (mut data, fds) =
            recv_with_fds(stream.as_raw_fd()).map_err(|e| format!("recvmsg: {e}"))?;
        let nfds = fds.len();
        drop(fds);
        let mut rest = Vec::new();
        let mut s2 = &stream;
        let closed = s2.read_to_end(&mut rest).is_ok();
        data.extend_from_slice(&rest);
        Ok((data, nfds, closed))
    });
    let ctr = c.try_create(&b, &[]);
    let got = handle
        .join()
        .map_err(|_| Why::Fail("listener panicked".into()))?
        .map_err(Why::Fail)?;
    let ctr = ctr.map_err(|o| {
        Why::Fail(format!(
            "create with a seccomp listener failed: {}",
            o.brief()
        ))
    })?;
    let (data, nfds, closed) = got;
    let v: Value = serde_json::from_slice(&data).map_err(|e| {
        Why::Fail(format!(
            "payload is not one JSON document ({e}): {:?}",
            String::from_utf8_lossy(&data)
        ))
    })?;
    match what {
        "state" => {
            ensure!(
                nfds == 1 && v["fds"] == json!(["seccompFd"]),
                "fds {} with {nfds} descriptors over SCM_RIGHTS",
                v["fds"]
            );
            ensure!(
                v["metadata"] == "conformance-meta",
                "metadata {}",
                v["metadata"]
            );
            ensure!(
                v["pid"].as_i64().unwrap_or(0) > 0 && v["state"]["id"] == ctr.id.as_str(),
                "pid/state: {v}"
            );
        }
        _ => ensure!(closed, "the connection was not closed after the state"),
    }
    Ok(())
}

fn seccomp_notify_fail(c: &Ctx) -> Res {
    let b = c.bundle().set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": c.dir.join("nobody-listens.sock"),
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "create succeeded although sending to the listener failed"
    );
    Ok(())
}

fn rootfs_prop(c: &Ctx, value: &str) -> Res {
    // The rootfs is a shared mount on the host (a bind of itself), so that
    // slave has a master to receive from.
    let mut b = c.bundle();
    let rootfs = b.private_rootfs(&c.rt.rootfs)?;
    let o = sh(&format!(
        "mount --bind {0} {0} && mount --make-shared {0}",
        rootfs.display()
    ));
    ensure!(o.ok(), "host fixture: {}", o.brief());
    let r2 = rootfs.clone();
    c.on_cleanup(move || {
        // The runtime's own mounts under a shared rootfs propagate back
        // here: take the whole subtree down.
        for _ in 0..10 {
            if !sh(&format!("umount -R -l {}", r2.display())).ok() {
                break;
            }
        }
    });
    let b = b.set("/linux/rootfsPropagation", json!(value));
    let v = c.report(b)?;
    let mi = v["mountinfo"].as_str().unwrap_or("");
    let m = mount_at(mi, "/").ok_or_else(|| Why::Fail("no / in mountinfo".into()))?;
    let has = |p: &str| m.optional.iter().any(|x| x.starts_with(p));
    let ok = match value {
        "shared" => has("shared:"),
        "slave" => has("master:") && !has("shared:"),
        "private" => !has("master:") && !has("shared:"),
        _ => has("unbindable"),
    };
    ensure!(
        ok,
        "/ has propagation {:?} for rootfsPropagation {value}",
        m.optional
    );
    Ok(())
}

fn masked(c: &Ctx) -> Res {
    let mut b = c.bundle();
    let rootfs = b.private_rootfs(&c.rt.rootfs)?;
    std::fs::create_dir_all(rootfs.join("cf-secret-dir")).map_err(|e| Why::Fail(e.to_string()))?;
    let _ = std::fs::write(rootfs.join("cf-secret-dir/inside"), "secret");
    let _ = std::fs::write(rootfs.join("cf-secret-file"), "secret");
    let b = b.set(
        "/linux/maskedPaths",
        json!(["/cf-secret-dir", "/cf-secret-file", "/proc/kcore"]),
    );
    let out = c.shell(b, "cat /cf-secret-file 2>/dev/null; ls /cf-secret-dir 2>/dev/null; head -c 16 /proc/kcore 2>/dev/null | wc -c")?;
    ensure!(
        !out.contains("secret") && !out.contains("inside") && out.trim().ends_with('0'),
        "masked paths readable: {out:?}"
    );
    Ok(())
}

fn readonly(c: &Ctx) -> Res {
    let mut b = c.bundle();
    let rootfs = b.private_rootfs(&c.rt.rootfs)?;
    std::fs::create_dir_all(rootfs.join("cf-ro")).map_err(|e| Why::Fail(e.to_string()))?;
    let b = b
        .set("/root/readonly", json!(false))
        .set("/linux/readonlyPaths", json!(["/cf-ro"]));
    let out = c.shell(
        b,
        "touch /cf-ro/x 2>&1 && echo ro-writable; touch /cf-rw && echo rw-writable",
    )?;
    ensure!(
        !out.contains("ro-writable") && out.contains("rw-writable"),
        "readonly path: {out:?}"
    );
    Ok(())
}

fn relative_path(c: &Ctx, field: &str) -> Res {
    let b = c
        .bundle()
        .set(&format!("/linux/{field}"), json!(["proc/kcore"]));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "a relative {field} entry was accepted"
    );
    Ok(())
}

fn mount_label(_c: &Ctx) -> Res {
    if !std::path::Path::new("/sys/fs/selinux/enforce").exists() {
        skip!("SELinux is not enabled on this host");
    }
    Ok(())
}

fn personality(c: &Ctx, domain: &str) -> Res {
    let out = c.shell(
        c.bundle()
            .set("/linux/personality", json!({"domain": domain})),
        "uname -m",
    )?;
    let want = if domain == "LINUX32" {
        "i686"
    } else {
        std::env::consts::ARCH
    };
    ensure!(out.trim() == want, "uname -m {out:?} (want {want})");
    Ok(())
}

fn intel_rdt(c: &Ctx) -> Res {
    if read("/proc/self/mountinfo").contains(" - resctrl ") {
        skip!("a resctrl filesystem is mounted on this host");
    }
    let b = c
        .bundle()
        .set("/linux/intelRdt", json!({"closID": "conformance"}));
    ensure!(
        c.try_create(&b, &[]).is_err(),
        "intelRdt accepted without a mounted resctrl filesystem"
    );
    Ok(())
}

fn mempolicy(c: &Ctx, mode: &str, shown: &str) -> Res {
    let b = c
        .bundle()
        .set("/linux/memoryPolicy", json!({"mode": mode, "nodes": "0"}));
    let out = c.shell(b, "head -n 3 /proc/self/numa_maps")?;
    ensure!(
        out.contains(&format!("{shown}:0")),
        "numa_maps {out:?} (want {shown}:0)"
    );
    Ok(())
}
