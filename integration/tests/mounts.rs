//! The container's filesystem as seen from inside: mount options and
//! propagation in mountinfo, masked and read-only paths, bind mounts, /dev,
//! devices, sysctls, and paths that try to lead out of the rootfs.

use integration::*;
use serde_json::json;

fn has(opts: &[String], o: &str) -> bool {
    opts.iter().any(|x| x == o)
}

#[test]
fn default_mounts_have_their_options() {
    let r = report(Bundle::new("m"));
    let root = mount_opts(&r, "/");
    assert!(has(&root, "ro"), "read-only root: {root:?}");
    let dev = mount_opts(&r, "/dev");
    assert!(has(&dev, "nosuid") && has(&dev, "rw"), "{dev:?}");
    let sys = mount_opts(&r, "/sys");
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(has(&sys, o), "/sys {o}: {sys:?}");
    }
    let shm = mount_opts(&r, "/dev/shm");
    for o in ["nosuid", "nodev", "noexec"] {
        assert!(has(&shm, o), "/dev/shm {o}: {shm:?}");
    }
    assert!(!mount_lines(&r, "/dev/mqueue").is_empty());
    assert!(!mount_lines(&r, "/dev/pts").is_empty());
    assert!(mount_lines(&r, "/proc")[0].contains(" - proc "));
}

#[test]
fn masked_and_readonly_paths() {
    let b = Bundle::new("mask").args(&[
        "/bin/sh",
        "-c",
        "cat /proc/keys | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo readonly",
    ]);
    let r = run(&b).expect_ok();
    let lines: Vec<&str> = r.stdout.lines().map(str::trim).collect();
    assert_eq!(lines, vec!["0", "0", "readonly"], "{}", r.stdout);
}

#[test]
fn masked_file_is_the_null_device() {
    let r = report(Bundle::new("mask2"));
    let keys = mount_lines(&r, "/proc/keys");
    assert_eq!(keys.len(), 1, "one mask over /proc/keys");
    let ro = mount_opts(&r, "/proc/sys");
    assert!(has(&ro, "ro"), "/proc/sys read-only: {ro:?}");
    let fw = mount_lines(&r, "/sys/firmware");
    assert!(
        fw.iter()
            .any(|l| l.contains(" - tmpfs ") && l.contains(" ro")),
        "{fw:?}"
    );
}

#[test]
fn bind_mounts_ro_and_rw() {
    let host = env().scratch.join(unique_id("bind"));
    std::fs::create_dir_all(&host).expect("dir");
    std::fs::write(host.join("f"), "data").expect("file");
    let b = Bundle::new("bind")
        .edit(|s| {
            let mounts = s["mounts"].as_array_mut().expect("mounts");
            mounts.push(json!({"destination": "/ro", "type": "bind", "source": host, "options": ["rbind", "ro"]}));
            mounts.push(json!({"destination": "/rw", "type": "bind", "source": host, "options": ["bind"]}));
        })
        .args(&["/bin/sh", "-c", "cat /ro/f; echo x > /ro/g 2>/dev/null || echo ro-refused; echo y > /rw/g && echo rw-ok"]);
    let r = run(&b).expect_ok();
    assert_eq!(r.stdout, "dataro-refused\nrw-ok\n");
    assert_eq!(
        std::fs::read_to_string(host.join("g")).unwrap_or_default(),
        "y\n"
    );
    let _ = std::fs::remove_dir_all(host);
}

#[test]
fn file_bind_mount_creates_a_file_target() {
    let host = env().scratch.join(format!("{}.txt", unique_id("fbind")));
    std::fs::write(&host, "hello").expect("file");
    let b = Bundle::new("fbind")
        .edit(|s| {
            s["mounts"].as_array_mut().expect("mounts").push(json!({"destination": "/tmp/sub/file.txt", "type": "bind", "source": host, "options": ["bind", "ro"]}));
        })
        .args(&["/bin/cat", "/tmp/sub/file.txt"]);
    assert_eq!(run(&b).expect_ok().stdout, "hello");
    let _ = std::fs::remove_file(host);
}

#[test]
fn recursive_read_only_reaches_submounts() {
    if !is_rrun() {
        return; // Debian's runc 1.1.5 predates rro
    }
    use nix::mount::{mount, umount2, MntFlags, MsFlags};
    let host = env().scratch.join(unique_id("rro"));
    std::fs::create_dir_all(host.join("sub")).expect("dir");
    mount(
        Some("tmpfs"),
        &host.join("sub"),
        Some("tmpfs"),
        MsFlags::empty(),
        Some("size=1m"),
    )
    .expect("host submount");
    let b = Bundle::new("rro")
        .edit(|s| {
            let m = s["mounts"].as_array_mut().expect("mounts");
            m.push(json!({"destination": "/view", "type": "bind", "source": host, "options": ["rbind", "rro"]}));
            m.push(json!({"destination": "/top", "type": "bind", "source": host, "options": ["rbind", "ro"]}));
        })
        .args(&["/bin/probe", "report"]);
    let r = report(b);
    let _ = umount2(&host.join("sub"), MntFlags::MNT_DETACH);
    let _ = std::fs::remove_dir_all(&host);
    assert!(
        has(&mount_opts(&r, "/view/sub"), "ro"),
        "rro reaches the submount"
    );
    assert!(has(&mount_opts(&r, "/top"), "ro"));
    assert!(
        has(&mount_opts(&r, "/top/sub"), "rw"),
        "plain ro stops at the top mount (runc)"
    );
}

#[test]
fn tmpfs_options_and_tmpcopyup() {
    let b = Bundle::new("tmpfs")
        .edit(|s| {
            s["mounts"].as_array_mut().expect("mounts").push(json!({"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "tmpcopyup"]}));
        })
        .args(&["/bin/sh", "-c", "head -1 /etc/passwd; stat -c %a /etc; echo new > /etc/x && echo writable"]);
    let r = run(&b).expect_ok();
    // The copied-up directory keeps the original's mode (runc), not mode=.
    assert_eq!(r.stdout, "root:x:0:0:root:/root:/bin/sh\n755\nwritable\n");
}

#[test]
fn default_devices_and_links() {
    let b = Bundle::new("dev").args(&["/bin/sh", "-c", "ls -l /dev | sort -k 10"]);
    let r = run(&b).expect_ok();
    for needle in [
        "null",
        "zero",
        "full",
        "random",
        "urandom",
        "tty",
        "ptmx -> pts/ptmx",
        "fd -> /proc/self/fd",
        "stdin -> /proc/self/fd/0",
    ] {
        assert!(
            r.stdout.contains(needle),
            "/dev lacks {needle}: {}",
            r.stdout
        );
    }
    let null = r
        .stdout
        .lines()
        .find(|l| l.ends_with(" null"))
        .unwrap_or_default();
    assert!(
        null.starts_with("crw-rw-rw-") && null.contains("1,   3"),
        "{null}"
    );
}

#[test]
fn config_devices_have_their_type_mode_and_owner() {
    let b = Bundle::new("devs")
        .set("/linux/devices", json!([{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 416, "uid": 7, "gid": 8},
                                     {"path": "/dev/sub/fifo", "type": "p", "major": 0, "minor": 0}]))
        .args(&["/bin/sh", "-c", "stat -c '%F %a %u %g %t %T' /dev/mynull /dev/sub/fifo"]);
    let r = run(&b).expect_ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "character special file 640 7 8 1 3");
    assert!(lines[1].starts_with("fifo 666"), "{}", lines[1]);
}

#[test]
fn cgroup_mount_shows_the_container_cgroup_read_only() {
    let r = report(Bundle::new("cgm"));
    let memory = mount_lines(&r, "/sys/fs/cgroup/memory");
    if memory.is_empty() {
        return; // not a v1 host
    }
    assert!(memory[0].contains(" ro,"), "read-only: {memory:?}");
    // The mount's root is the container's own cgroup, not the host's root.
    let root = memory[0].split(' ').nth(3).unwrap_or("/");
    assert_ne!(root, "/", "{memory:?}");
}

#[test]
fn sysctls_are_written_in_the_container_namespaces() {
    let b = Bundle::new("sysctl")
        .set(
            "/linux/sysctl",
            json!({"net.ipv4.ip_forward": "1", "kernel.shmmni": "1024"}),
        )
        .args(&[
            "/bin/cat",
            "/proc/sys/net/ipv4/ip_forward",
            "/proc/sys/kernel/shmmni",
        ]);
    assert_eq!(run(&b).expect_ok().stdout, "1\n1024\n");
    // The host's values are untouched.
    let host = std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap_or_default();
    assert_ne!(host.trim(), "1024");
}

#[test]
fn rootfs_propagation_private() {
    let r = report(Bundle::new("prop").set("/linux/rootfsPropagation", json!("rprivate")));
    let root = mount_lines(&r, "/");
    assert!(
        !root[0].contains("master:") && !root[0].contains("shared:"),
        "{root:?}"
    );
}

/// CVE-2021-30465 class: a symlink in the rootfs pointing at a host path must
/// not redirect a mount onto the host.
#[test]
fn symlinked_mount_target_stays_inside_the_rootfs() {
    let mut b = Bundle::new("symlink");
    let rootfs = b.private_rootfs();
    let victim = env().scratch.join(unique_id("victim"));
    std::fs::create_dir_all(&victim).expect("victim dir");
    std::os::unix::fs::symlink(&victim, rootfs.join("escape")).expect("symlink");
    let b = b
        .edit(|s| {
            s["mounts"].as_array_mut().expect("mounts").push(json!({"destination": "/escape/inner", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
        })
        .args(&["/bin/true"]);
    let _ = run(&b);
    assert!(
        !victim.join("inner").exists(),
        "the mount target was created on the host"
    );
    assert!(
        !host_has_mount_under(victim.to_str().unwrap_or("/nonexistent")),
        "a mount landed on the host"
    );
    let _ = std::fs::remove_dir_all(victim);
}

/// proc must not be mounted through a symlink (CVE-2019-19921 class).
#[test]
fn proc_on_a_symlink_is_refused() {
    if !is_rrun() {
        return;
    }
    let mut b = Bundle::new("procsym");
    let rootfs = b.private_rootfs();
    std::fs::remove_dir(rootfs.join("proc")).expect("rm proc");
    std::os::unix::fs::symlink("/tmp", rootfs.join("proc")).expect("symlink");
    let r = run(&b.args(&["/bin/true"]));
    assert!(!r.ok());
    assert!(r.stderr.contains("symlink"), "{}", r.stderr);
}

#[test]
fn no_pivot_also_works() {
    let b = Bundle::new("nopivot");
    b.write();
    let id = unique_id("np");
    let r = runtime(&[
        "run",
        "--no-pivot",
        "--bundle",
        b.path().to_str().unwrap_or("."),
        &id,
    ])
    .expect_ok();
    assert_eq!(r.json()["pid"], 1);
}

/// linux.netDevices: an ifb link moved in, renamed, up, its address kept;
/// it dies with the namespace (a virtual device is not moved back).
#[test]
fn net_devices_move_into_the_container() {
    if !is_rrun() {
        return; // Debian's runc 1.1.5 predates netDevices
    }
    let host = format!("rrt{}", std::process::id() % 100000);
    let ok = std::process::Command::new("ip")
        .args(["link", "add", &host, "type", "ifb"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return; // no ifb driver
    }
    let _ = std::process::Command::new("ip")
        .args(["addr", "add", "10.250.0.1/24", "dev", &host])
        .status();
    let b = Bundle::new("netdev")
        .set(
            "/linux/netDevices",
            json!({ host.clone(): {"name": "inside0"} }),
        )
        .args(&[
            "/bin/sh",
            "-c",
            "ip -o addr show inside0; ip -o link show inside0",
        ]);
    let r = run(&b);
    let still_on_host = std::process::Command::new("ip")
        .args(["link", "show", &host])
        .output()
        .is_ok_and(|o| o.status.success());
    if still_on_host {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &host])
            .status();
    }
    let r = r.expect_ok();
    assert!(
        r.stdout.contains("10.250.0.1/24"),
        "address kept: {}",
        r.stdout
    );
    assert!(r.stdout.contains("UP"), "set up: {}", r.stdout);
    assert!(
        !still_on_host,
        "the ifb link died with the container's namespace"
    );
}
