//! User namespaces: several mapping ranges, what the container's root owns
//! and what it cannot do, devices and user.* sysctls inside, joining a user
//! namespace by path, idmapped mounts (ownership checked on the host), and
//! rootless runs as an ordinary user created for the test.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use integration::*;
use serde_json::{json, Value};

const BASE: u32 = 200_000;

fn range(container: u32, host: u32, size: u32) -> Value {
    id_range(container, host, size)
}

/// A bundle with a new user namespace mapping 0..65536 to BASE.., or `maps`.
fn with_userns(tag: &str, maps: Option<Value>) -> Bundle {
    Bundle::new(tag).userns(maps.unwrap_or_else(|| json!([range(0, BASE, 65536)])))
}

fn caps(b: Bundle, list: &[&str]) -> Bundle {
    b.caps(list)
}

fn map_lines(text: &str) -> Vec<Vec<u64>> {
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .collect()
}

#[test]
fn several_ranges_are_written_and_unmapped_owners_are_nobody() {
    let maps = json!([range(0, BASE, 1000), range(1000, BASE + 100_000, 64536)]);
    let r = sh(
        with_userns("ranges", Some(maps)),
        "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; id -u; stat -c %u:%g /bin/busybox",
    )
    .expect_ok();
    let parts: Vec<&str> = r.stdout.split("--\n").collect();
    assert_eq!(parts.len(), 3, "{}", r.stdout);
    let want = vec![
        vec![0, BASE as u64, 1000],
        vec![1000, BASE as u64 + 100_000, 64536],
    ];
    assert_eq!(map_lines(parts[0]), want, "uid_map");
    assert_eq!(map_lines(parts[1]), want, "gid_map");
    // The rootfs belongs to the host's root, which the namespace does not map.
    assert_eq!(parts[2].lines().collect::<Vec<_>>(), ["0", "65534:65534"]);
}

#[test]
fn container_root_owns_its_namespaces_but_not_the_host() {
    let b = caps(
        with_userns("owns", None),
        &[
            "CAP_SYS_ADMIN",
            "CAP_NET_ADMIN",
            "CAP_MKNOD",
            "CAP_SYS_NICE",
        ],
    );
    let r = sh(
        b,
        "hostname inner && hostname; \
         mkdir /tmp/m && mount -t tmpfs t /tmp/m && echo mounted; \
         ip link set lo up && ip link show lo | grep -q UP && echo lo-up; \
         mknod /tmp/n c 1 3 2>/dev/null && echo mknod-ok || echo mknod-denied; \
         renice -n -5 -p $$ >/dev/null 2>&1 && echo renice-ok || echo renice-denied",
    )
    .expect_ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        ["inner", "mounted", "lo-up", "mknod-denied", "renice-denied"],
        "stderr: {}",
        r.stderr
    );
}

#[test]
fn control_without_userns_the_same_caps_reach_the_host() {
    // The control for the test above: without a user namespace the same
    // capabilities do make device nodes and raise priority.
    let b = caps(Bundle::new("owns-ctl"), &["CAP_MKNOD", "CAP_SYS_NICE"]);
    let r = sh(
        b,
        "mknod /tmp/n c 1 3 2>/dev/null && echo mknod-ok || echo mknod-denied; \
         renice -n -5 -p $$ >/dev/null 2>&1 && echo renice-ok || echo renice-denied",
    )
    .expect_ok();
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        ["mknod-ok", "renice-ok"]
    );
}

#[test]
fn devices_are_bind_mounted_from_the_host() {
    // /dev/fuse (10:229) stands for a device outside the default list,
    // where the host has it (the v2 VM has none).
    let fuse = Path::new("/dev/fuse").exists();
    let b = with_userns("devs", None).edit(|s| {
        if fuse {
            s["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                            "fileMode": 438, "uid": 0, "gid": 0}]);
            s["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]);
        }
    });
    let r = sh(
        b,
        "for d in null zero fuse; do grep -q \" /dev/$d \" /proc/self/mountinfo && echo bound-$d; done; \
         head -c 3 /dev/zero | wc -c; [ -e /dev/fuse ] && stat -c %t:%T /dev/fuse; true",
    )
    .expect_ok();
    let lines: Vec<&str> = r.stdout.lines().map(str::trim).collect();
    let want: &[&str] = if fuse {
        &["bound-null", "bound-zero", "bound-fuse", "3", "a:e5"]
    } else {
        &["bound-null", "bound-zero", "3"]
    };
    assert_eq!(lines, want, "stderr: {}", r.stderr);
}

#[test]
fn user_sysctls_are_set_inside_the_user_namespace_only() {
    if !is_rrun() {
        // runc refuses user.* keys ("not in a separate kernel namespace");
        // crun and rrun allow them in a user namespace (docs/differences.md).
        return;
    }
    let host = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").expect("host value");
    let b =
        with_userns("sysctl", None).set("/linux/sysctl", json!({"user.max_user_namespaces": "7"}));
    let r = sh(b, "cat /proc/sys/user/max_user_namespaces").expect_ok();
    assert_eq!(r.stdout.trim(), "7");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/user/max_user_namespaces").expect("host value"),
        host,
        "the host's value changed"
    );
    // Without a user namespace the same key would be the host's.
    let b =
        Bundle::new("sysctl-host").set("/linux/sysctl", json!({"user.max_user_namespaces": "7"}));
    let r = sh(b, "true");
    assert!(
        !r.ok(),
        "user.* sysctl without a user namespace was accepted"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/user/max_user_namespaces").expect("host value"),
        host
    );
}

/// A bundle joining the user namespace of `pid` (plus new mount, pid, ...).
fn joining(tag: &str, pid: i32, maps: Option<Value>) -> Bundle {
    Bundle::new(tag).edit(|s| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .push(json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}));
        if let Some(m) = maps {
            s["linux"]["uidMappings"] = m.clone();
            s["linux"]["gidMappings"] = m;
        }
    })
}

#[test]
fn joining_a_user_namespace_by_path() {
    let holder =
        Container::create(with_userns("holder", None).args(&["/bin/probe", "sleep", "60"]));
    let pid = holder.pid();
    let host_view = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).expect("uid_map");
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/user")).expect("ns link");

    // Without mappings: the namespace's own (runc 1.2+; 1.1.5 demands
    // mappings, so the oracle is given the matching ones).
    let script = "readlink /proc/self/ns/user; cat /proc/self/uid_map";
    let maps = (!is_rrun()).then(|| json!([range(0, BASE, 65536)]));
    let r = sh(joining("join", pid, maps), script).expect_ok();
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some(ns.to_string_lossy().as_ref()));
    assert_eq!(
        map_lines(&lines.collect::<Vec<_>>().join("\n")),
        map_lines(&host_view)
    );

    // With the same mappings (containerd sends both): accepted.
    let same = json!([range(0, BASE, 65536)]);
    sh(joining("join-same", pid, Some(same)), "true").expect_ok();

    // With other mappings: refused, and nothing is left behind.
    if is_rrun() {
        let other = json!([range(0, BASE + 1, 65536)]);
        let b = joining("join-other", pid, Some(other));
        b.write();
        let id = unique_id("join-other");
        let r = runtime(&["run", "--bundle", b.path().to_str().unwrap_or("."), &id]);
        assert!(!r.ok());
        assert!(
            r.stderr.contains("non-matching mapping"),
            "stderr: {}",
            r.stderr
        );
        assert!(!runtime(&["state", &id]).ok(), "state left behind");
    }
}

#[test]
fn overlapping_mappings_fail_cleanly() {
    let maps = json!([range(0, BASE, 1000), range(500, BASE + 50_000, 1000)]);
    let b = with_userns("overlap", Some(maps));
    b.write();
    let id = unique_id("overlap");
    let r = runtime(&["create", "--bundle", b.path().to_str().unwrap_or("."), &id]);
    assert!(!r.ok(), "overlapping ranges accepted");
    if is_rrun() {
        assert!(
            r.stderr.contains(&format!("create {id}"))
                && r.stderr.contains("uidMappings[1]")
                && r.stderr.contains("overlaps"),
            "stderr: {}",
            r.stderr
        );
    }
    let state = runtime(&["state", &id]);
    assert!(!state.ok(), "a failed create left state behind");
    assert!(
        host_cgroups_named(&id).is_empty(),
        "a failed create left a cgroup"
    );
    let _ = runtime(&["delete", "--force", &id]);
}

/// Does the runtime under test advertise idmapped mounts?
fn runtime_has_idmap() -> bool {
    let r = runtime(&["features"]);
    r.ok() && r.json()["linux"]["mountExtensions"]["idmap"]["enabled"] == true
}

/// tmpfs supports idmapped mounts from Linux 6.3 (the v2 VM runs 6.1 with
/// its /tmp on tmpfs): there rrun must refuse with the filesystem named.
fn idmap_unsupported_here(dir: &Path) -> bool {
    let tmpfs = nix::sys::statfs::statfs(dir)
        .is_ok_and(|st| st.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC);
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut v = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u32>().ok());
    let (major, minor) = (v.next().unwrap_or(0), v.next().unwrap_or(0));
    tmpfs && (major, minor) < (6, 3)
}

/// Where idmap cannot work, the refusal must name the filesystem.
fn expect_idmap_refused(b: Bundle) {
    let r = sh(b, "true");
    assert!(
        !r.ok(),
        "an idmapped mount on old-kernel tmpfs was accepted"
    );
    assert!(
        r.stderr
            .contains("tmpfs filesystem does not support idmapped mounts"),
        "stderr: {}",
        r.stderr
    );
}

/// Permissions along a path, for a failure message.
fn path_modes(p: &Path) -> String {
    p.ancestors()
        .map(|a| match std::fs::metadata(a) {
            Ok(m) => format!(
                "{} {:o} {}:{}",
                a.display(),
                m.mode() & 0o7777,
                m.uid(),
                m.gid()
            ),
            Err(e) => format!("{} {e}", a.display()),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A host directory holding a file owned by the host's root.
fn host_dir(tag: &str) -> PathBuf {
    let dir = env().scratch.join(unique_id(tag));
    std::fs::create_dir_all(&dir).expect("host dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(dir.join("host-file"), "x").expect("host file");
    dir
}

/// A bind of `dir` on /data. The tests share one rootfs, owned by the host's
/// root, where a container's root cannot create the mount point: make it.
fn bind(dir: &Path, options: &[&str], maps: Option<Value>) -> Value {
    std::fs::create_dir_all(env().rootfs.join("data")).expect("mount point");
    let mut m = json!({"destination": "/data", "type": "bind", "source": dir, "options": options});
    if let Some(maps) = maps {
        m["uidMappings"] = maps.clone();
        m["gidMappings"] = maps;
    }
    m
}

fn with_mount(b: Bundle, m: Value) -> Bundle {
    b.edit(|s| s["mounts"].as_array_mut().expect("mounts").push(m))
}

#[test]
fn idmapped_mount_in_a_user_namespace_writes_host_ids() {
    if !runtime_has_idmap() {
        eprintln!("skipped: the runtime does not advertise idmapped mounts");
        return;
    }
    let script =
        "stat -c %u /data/host-file; touch /data/new 2>/dev/null && echo wrote || echo denied";
    // The container's root cannot create a mount point in the host root's
    // rootfs: the error says which step failed.
    let missing = format!("/{}", unique_id("nodir"));
    let mut m = bind(&host_dir("nodir"), &["rbind"], None);
    m["destination"] = json!(missing);
    let r = sh(with_mount(with_userns("nodir", None), m), "true");
    assert!(!r.ok(), "mount point made by an unmapped root");
    assert!(
        r.stderr.contains("creating the mount point") || !is_rrun(),
        "{}",
        r.stderr
    );
    assert!(!env().rootfs.join(&missing[1..]).exists());

    // Control: a plain bind shows the host's root as nobody and refuses writes.
    let dir = host_dir("plain");
    let b = with_mount(with_userns("plain", None), bind(&dir, &["rbind"], None));
    let r = sh(b, script);
    assert!(r.ok(), "{}; path: {}", r.stderr, path_modes(&dir));
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), ["65534", "denied"]);

    // idmap with the container's mappings: the host's root is the
    // container's root, and what it creates is owned by root on the host.
    let dir = host_dir("idmap");
    let maps = json!([range(0, BASE, 65536)]);
    let b = with_mount(
        with_userns("idmap", None),
        bind(&dir, &["rbind", "idmap"], Some(maps)),
    );
    if is_rrun() && idmap_unsupported_here(&dir) {
        expect_idmap_refused(b);
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let r = sh(b, script).expect_ok();
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        ["0", "wrote"],
        "stderr: {}",
        r.stderr
    );
    let meta = std::fs::metadata(dir.join("new")).expect("file made through the mount");
    assert_eq!((meta.uid(), meta.gid()), (0, 0), "owner on the host");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two idmapped mounts with the same mappings share one user namespace:
/// the second gets it too (not the first mount's tree).
#[test]
fn two_idmapped_mounts_with_the_same_maps() {
    if !runtime_has_idmap() {
        eprintln!("skipped: the runtime does not advertise idmapped mounts");
        return;
    }
    let (one, two) = (host_dir("idmap1"), host_dir("idmap2"));
    let maps = json!([range(0, BASE, 65536)]);
    let mut second = bind(&two, &["rbind", "idmap"], Some(maps.clone()));
    second["destination"] = json!("/data2");
    std::fs::create_dir_all(env().rootfs.join("data2")).expect("mount point");
    let b = with_mount(
        with_mount(
            with_userns("idmap2", None),
            bind(&one, &["rbind", "idmap"], Some(maps)),
        ),
        second,
    );
    if is_rrun() && idmap_unsupported_here(&one) {
        expect_idmap_refused(b);
    } else {
        let r = sh(b, "stat -c %u /data/host-file /data2/host-file").expect_ok();
        assert_eq!(r.stdout.lines().collect::<Vec<_>>(), ["0", "0"]);
    }
    let _ = std::fs::remove_dir_all(&one);
    let _ = std::fs::remove_dir_all(&two);
}

#[test]
fn idmapped_mount_without_a_user_namespace() {
    if !runtime_has_idmap() {
        eprintln!("skipped: the runtime does not advertise idmapped mounts");
        return;
    }
    // Mount mappings alone: on-disk 0 is seen as 1000 through the mount,
    // and a file the (host-root) container makes there needs a mapped id.
    let dir = host_dir("idmap-nouserns");
    let maps = json!([range(0, 1000, 1)]);
    let b = with_mount(
        Bundle::new("idmap-nouserns"),
        bind(&dir, &["bind", "idmap"], Some(maps)),
    );
    if is_rrun() && idmap_unsupported_here(&dir) {
        expect_idmap_refused(b);
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let r = sh(b, "stat -c %u:%g /data/host-file; stat -c %u /data").expect_ok();
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), ["1000:1000", "1000"]);
    // The host's view is unchanged.
    let meta = std::fs::metadata(dir.join("host-file")).expect("host file");
    assert_eq!(meta.uid(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn idmap_on_a_filesystem_without_support_names_it() {
    if !is_rrun() {
        return;
    }
    let maps = json!([range(0, BASE, 65536)]);
    // (No "sysfs" in the ids: the error must name it by itself.)
    let b = with_mount(
        with_userns("idmap-nosupport", None),
        bind(Path::new("/sys/kernel/mm"), &["rbind", "idmap"], Some(maps)),
    );
    b.write();
    let id = unique_id("idmap-nosupport");
    let r = runtime(&["run", "--bundle", b.path().to_str().unwrap_or("."), &id]);
    assert!(!r.ok(), "idmap on sysfs accepted");
    assert!(
        r.stderr
            .contains("sysfs filesystem does not support idmapped mounts")
            && r.stderr.contains("/data"),
        "stderr: {}",
        r.stderr
    );
    assert!(!runtime(&["state", &id]).ok(), "state left behind");
}

// ------------------------------------------------------------- rootless

/// An ordinary user made for the test, with subordinate id ranges, a
/// runtime dir, and copies of the runtime and rootfs it can read; all
/// removed on drop.
struct TestUser {
    name: String,
    uid: u32,
    gid: u32,
    sub_start: u32,
    home: PathBuf,
    xdg: PathBuf,
    runtime: PathBuf,
    rootfs: PathBuf,
}

impl TestUser {
    fn make() -> Option<TestUser> {
        if !nix::unistd::geteuid().is_root() || !Path::new("/usr/bin/newuidmap").exists() {
            return None;
        }
        let name = format!("rrit{}", std::process::id() % 100_000);
        let sub_start = 400_000 + (std::process::id() % 1000) * 70_000;
        let ranges = format!("{sub_start}-{}", sub_start + 65535);
        let home = env().scratch.join(&name);
        let ok = Command::new("useradd")
            .args(["-M", "-d"])
            .arg(&home)
            .args(["-s", "/bin/sh", &name])
            .status()
            .is_ok_and(|s| s.success())
            && Command::new("usermod")
                .args(["--add-subuids", &ranges, "--add-subgids", &ranges, &name])
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .arg(flag)
                .arg(&name)
                .output()
                .expect("id");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("numeric id")
        };
        let (uid, gid) = (id("-u"), id("-g"));
        let xdg = PathBuf::from(format!("/run/user/{uid}"));
        let user = TestUser {
            runtime: home.join(env().runtime.file_name().expect("runtime name")),
            rootfs: home.join("rootfs"),
            name,
            uid,
            gid,
            sub_start,
            home,
            xdg,
        };
        for d in [&user.home, &user.xdg] {
            std::fs::create_dir_all(d).expect("user dir");
            nix::unistd::chown(d, Some(uid.into()), Some(gid.into())).expect("chown");
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        std::fs::copy(&env().runtime, &user.runtime).expect("copy runtime");
        let ok = Command::new("cp")
            .arg("-a")
            .arg(&env().rootfs)
            .arg(&user.rootfs)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "copy rootfs");
        Some(user)
    }

    /// Run the runtime as this user (default --root, as a user would).
    fn runtime(&self, args: &[&str], cwd: &Path) -> Run {
        let out = Command::new(&self.runtime)
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", &self.home)
            .env("USER", &self.name)
            .env("XDG_RUNTIME_DIR", &self.xdg)
            .uid(self.uid)
            .gid(self.gid)
            .stdin(Stdio::null())
            .output()
            .expect("spawn runtime as the test user");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A bundle dir owned by the user, with `rrun spec --rootless` edited
    /// to run `script` without a terminal.
    fn bundle(&self, tag: &str, script: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
        let dir = self.home.join(unique_id(tag));
        std::fs::create_dir_all(&dir).expect("bundle dir");
        nix::unistd::chown(&dir, Some(self.uid.into()), Some(self.gid.into())).expect("chown");
        self.runtime(&["spec", "--rootless"], &dir).expect_ok();
        let path = dir.join("config.json");
        let mut spec: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("config.json")).expect("json");
        spec["process"]["terminal"] = json!(false);
        spec["process"]["args"] = json!(["/bin/sh", "-c", script]);
        spec["root"]["path"] = json!(self.rootfs);
        edit(&mut spec);
        std::fs::write(&path, serde_json::to_vec(&spec).expect("json")).expect("write");
        dir
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).status();
        let _ = std::fs::remove_dir_all(&self.home);
        let _ = std::fs::remove_dir_all(&self.xdg);
    }
}

#[test]
fn rootless_as_an_ordinary_user() {
    let Some(user) = TestUser::make() else {
        eprintln!("skipped: needs root, useradd and newuidmap (Debian's uidmap)");
        return;
    };
    let runtime_name = env()
        .runtime
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let state_dir = user.xdg.join(if is_rrun() { "rrun" } else { "runc" });

    // `spec --rootless` maps the caller's own ids: no helper needed.
    let script = "cat /proc/self/uid_map; id -u";
    let dir = user.bundle("rl", script, |_| {});
    let spec: Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).expect("read"))
            .expect("json");
    assert_eq!(spec["linux"]["uidMappings"][0]["hostID"], user.uid);
    let id = unique_id("rl");
    let r = user.runtime(&["run", &id], &dir).expect_ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(map_lines(lines[0]), [vec![0, user.uid as u64, 1]]);
    assert_eq!(lines[1], "0");
    assert!(
        state_dir.is_dir(),
        "{runtime_name} kept no state under $XDG_RUNTIME_DIR"
    );

    // Several ranges: written through newuidmap/newgidmap from the subuid range.
    let maps = json!([range(0, user.uid, 1), range(1, user.sub_start, 65536)]);
    let gmaps = json!([range(0, user.gid, 1), range(1, user.sub_start, 65536)]);
    let dir = user.bundle("rl-ranges", "cat /proc/self/uid_map", |s| {
        s["linux"]["uidMappings"] = maps;
        s["linux"]["gidMappings"] = gmaps;
    });
    let r = user
        .runtime(&["run", &unique_id("rl-ranges")], &dir)
        .expect_ok();
    assert_eq!(
        map_lines(&r.stdout),
        [
            vec![0, user.uid as u64, 1],
            vec![1, user.sub_start as u64, 65536]
        ]
    );

    // A range outside the user's subordinate ids: refused, nothing left.
    let beyond = json!([
        range(0, user.uid, 1),
        range(1, user.sub_start + 100_000, 10)
    ]);
    let dir = user.bundle("rl-beyond", "true", |s| s["linux"]["uidMappings"] = beyond);
    let id = unique_id("rl-beyond");
    let r = user.runtime(&["run", &id], &dir);
    assert!(!r.ok(), "a range beyond /etc/subuid was accepted");
    if is_rrun() {
        assert!(r.stderr.contains("newuidmap"), "stderr: {}", r.stderr);
    }
    assert!(!state_dir.join(&id).exists(), "state left behind");

    // Limits that need a cgroup the user may not create: refused (as runc).
    if is_rrun() {
        let dir = user.bundle("rl-limit", "true", |s| {
            s["linux"]["resources"] = json!({"pids": {"limit": 10}})
        });
        let r = user.runtime(&["run", &unique_id("rl-limit")], &dir);
        assert!(!r.ok());
        assert!(
            r.stderr.contains("cannot set pids limit"),
            "stderr: {}",
            r.stderr
        );
    }
    let listed = user.runtime(&["list", "-q"], &user.home).expect_ok();
    assert_eq!(listed.stdout.trim(), "", "containers left behind");
}

/// Pure cgroup v2 (the VM): a rootless runtime given a delegated subtree, as
/// systemd delegates one to a user, creates the container's cgroup in it and
/// applies its limits. The user needs no passwd entry: its own id is the
/// only mapping, which it writes itself.
#[test]
fn rootless_with_a_delegated_cgroup_v2_subtree() {
    let unified = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let setpriv = Path::new("/usr/bin/setpriv").exists();
    if !unified || !setpriv || !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs a pure cgroup v2 host, root and setpriv");
        return;
    }
    let uid = 4242u32;
    let deleg = PathBuf::from(format!("/sys/fs/cgroup/{}", unique_id("rrun-deleg")));
    let scratch = env().scratch.join(unique_id("deleg"));
    let (xdg, bundle, rootfs) = (
        scratch.join("xdg"),
        scratch.join("b"),
        scratch.join("rootfs"),
    );
    struct Cleanup(PathBuf, PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for sub in ["ctr", "runtime", ""] {
                let _ = std::fs::remove_dir(self.0.join(sub));
            }
            let _ = std::fs::remove_dir_all(&self.1);
        }
    }
    let _cleanup = Cleanup(deleg.clone(), scratch.clone());
    // The delegation: pids enabled below, the subtree owned by the user.
    std::fs::create_dir_all(deleg.join("runtime")).expect("delegated cgroup");
    std::fs::write(deleg.join("cgroup.subtree_control"), "+pids").expect("enable pids");
    for dir in [&xdg, &bundle] {
        std::fs::create_dir_all(dir).expect("dir");
    }
    let ok = Command::new("cp")
        .arg("-a")
        .arg(&env().rootfs)
        .arg(&rootfs)
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "copy rootfs");
    let ok = Command::new("chown")
        .args(["-R", &format!("{uid}:{uid}")])
        .arg(&deleg)
        .arg(&xdg)
        .arg(&bundle)
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "chown");
    let rel = deleg
        .strip_prefix("/sys/fs/cgroup")
        .expect("relative")
        .to_string_lossy()
        .into_owned();
    let mut spec = default_spec();
    spec["root"]["path"] = json!(rootfs);
    spec["process"]["args"] = json!([
        "/bin/sh",
        "-c",
        "cat /sys/fs/cgroup/pids.max; cat /proc/self/cgroup"
    ]);
    spec["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
        {"type": "mount"}, {"type": "user"}, {"type": "cgroup"}]);
    spec["linux"]["uidMappings"] = json!([range(0, uid, 1)]);
    spec["linux"]["gidMappings"] = json!([range(0, uid, 1)]);
    spec["linux"]["resources"] = json!({"pids": {"limit": 42}});
    spec["linux"]["cgroupsPath"] = json!(format!("/{rel}/ctr"));
    // Rootless: no /sys of its own (a user namespace cannot mount sysfs
    // without a network namespace it owns), as `spec --rootless`.
    for m in spec["mounts"].as_array_mut().expect("mounts") {
        if m["destination"] == "/dev/pts" {
            // gid 5 is not mapped.
            m["options"]
                .as_array_mut()
                .expect("options")
                .retain(|o| o != "gid=5");
        }
        if m["destination"] == "/sys" {
            *m = json!({"destination": "/sys", "type": "none", "source": "/sys",
                        "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        }
    }
    std::fs::write(
        bundle.join("config.json"),
        serde_json::to_vec(&spec).expect("json"),
    )
    .expect("write");
    // As the user, held at a gate until root has moved it into the subtree.
    let mut child = Command::new("/bin/sh")
        .args(["-c", "read gate && exec \"$@\"", "sh"])
        .arg(&env().runtime)
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(unique_id("deleg"))
        .env("XDG_RUNTIME_DIR", &xdg)
        .env("USER", "nobody-in-particular")
        .uid(uid)
        .gid(uid)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::fs::write(deleg.join("runtime/cgroup.procs"), child.id().to_string()).expect("move");
    {
        use std::io::Write;
        let mut gate = child.stdin.take().expect("stdin");
        gate.write_all(b"open\n").expect("open the gate");
    }
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "rootless run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, ["42", "0::/"], "pids.max and cgroup as seen inside");
    assert!(
        !deleg.join("ctr").exists(),
        "the container's cgroup was left behind"
    );
}
