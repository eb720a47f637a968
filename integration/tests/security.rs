//! Attack tests: each known runc CVE class, attacked the way the CVE
//! attacked runc. They hold rrun at the vulnerable moment where a race is
//! involved (test-only pause points) and, with the test-only build
//! (RRUN_ATTACK_BUILD: rrun built with the `attack-tests` feature), show that
//! the attack succeeds once its protection is switched off: the test proves
//! something.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use integration::*;
use serde_json::json;

/// rrun built with the attack-tests feature, if the suite was given one.
fn attack_build() -> Option<PathBuf> {
    if !is_rrun() {
        return None;
    }
    std::env::var_os("RRUN_ATTACK_BUILD")
        .map(PathBuf::from)
        .filter(|p| p.exists())
}

/// A private copy of a runtime binary: a successful attack damages only it.
fn victim_copy(src: &Path, tag: &str) -> PathBuf {
    let dst = env().scratch.join(format!("{}-{tag}", unique_id("victim")));
    std::fs::copy(src, &dst).expect("copy the runtime");
    dst
}

fn with(bin: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut c = Command::new(bin);
    c.arg("--root")
        .arg(&env().state_root)
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    c
}

fn ok(mut c: Command) -> bool {
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_for(path: &Path, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn ptrace_bundle(tag: &str, out: &Path) -> Bundle {
    let caps = json!(["CAP_KILL", "CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE"]);
    Bundle::new(tag)
        .edit(|s| {
            s["process"]["capabilities"] =
                json!({"bounding": caps, "effective": caps, "permitted": caps});
            s["mounts"].as_array_mut().expect("mounts").push(
                json!({"destination": "/out", "type": "bind", "source": out, "options": ["bind"]}),
            );
        })
        .args(&["/bin/probe", "sleep", "30"])
}

/// The attacker: keep /proc/<target>/exe open, wait for "go", then write
/// through it; report the shell's exit status and error.
const HOLD_AND_WRITE: &str =
    "exec 7</proc/$TARGET/exe || { echo noopen > /out/err; echo 9 > /out/rc; exit; }; \
     echo held > /out/held; while [ ! -e /out/go ]; do sleep 0.05; done; \
     (echo pwned > /proc/self/fd/7) 2>/out/err; echo $? > /out/rc";

/// CVE-2019-5736 against a created container's waiting init: a process
/// exec'd in with CAP_SYS_PTRACE (no user namespace) holds /proc/1/exe and
/// writes it once no rrun runs. `edit` changes the bundle. Returns (binary
/// changed, attacker's error).
fn attack_created_init(
    bin: &Path,
    envs: &[(&str, &str)],
    edit: impl FnOnce(&mut serde_json::Value),
) -> (bool, String) {
    let out = env().scratch.join(unique_id("cve5736"));
    std::fs::create_dir_all(&out).expect("out dir");
    let b = ptrace_bundle("c5736", &out).edit(edit);
    b.write();
    let id = unique_id("c5736");
    let before = std::fs::read(bin).expect("read victim");
    assert!(
        ok(with(
            bin,
            &["create", "--bundle", b.path().to_str().unwrap_or("."), &id],
            envs
        )),
        "create"
    );
    let script = HOLD_AND_WRITE.replace("$TARGET", "1");
    assert!(
        ok(with(
            bin,
            &["exec", "-d", &id, "/bin/sh", "-c", &script],
            envs
        )),
        "exec the attacker"
    );
    assert!(
        wait_for(&out.join("held"), 10) || out.join("rc").exists(),
        "attacker never started"
    );
    assert!(ok(with(bin, &["start", &id], envs)), "start");
    std::thread::sleep(Duration::from_millis(200)); // the init has become the program
    std::fs::write(out.join("go"), "").expect("go");
    wait_for(&out.join("rc"), 10);
    let err = std::fs::read_to_string(out.join("err")).unwrap_or_default();
    // The real runtime deletes: a successful attack leaves `bin` broken.
    let _ = runtime(&["delete", "--force", &id]);
    let changed = std::fs::read(bin).map(|a| a != before).unwrap_or(true);
    let _ = std::fs::remove_dir_all(&out);
    (changed, err)
}

#[test]
fn cve_2019_5736_the_created_init_cannot_be_overwritten() {
    if !is_rrun() {
        return;
    }
    let victim = victim_copy(&env().runtime, "init");
    // The waiting init is the start trampoline, in a sealed memfd.
    let (changed, err) = attack_created_init(&victim, &[], |_| {});
    assert!(
        !changed,
        "the rrun binary was overwritten through /proc/1/exe"
    );
    assert!(
        err.contains("Operation not permitted"),
        "the write was refused by the sealed trampoline: {err:?}"
    );
    // Without the trampoline, the init runs from the read-only binary.
    // (A filter refusing execveat: the start trampoline does not fit.)
    let (changed, err) = attack_created_init(&victim, &[], |s| deny_syscall(s, "execveat"));
    assert!(
        !changed,
        "the rrun binary was overwritten through /proc/1/exe (no trampoline)"
    );
    assert!(
        err.contains("Read-only file system"),
        "the write was refused by the read-only binary: {err:?}"
    );
    if let Some(build) = attack_build() {
        let weak = victim_copy(&build, "init-weak");
        let disable = [("RRUN_TEST_DISABLE", "readonly-self")];
        let (changed, err) = attack_created_init(&weak, &disable, |_| {});
        assert!(changed, "without the protection the attack must succeed (else this test proves nothing): {err:?}");
        let _ = std::fs::remove_file(weak);
    }
    let _ = std::fs::remove_file(victim);
}

/// The first CVE-2019-5736 vector: a container whose program is
/// /proc/self/exe makes its init execute whatever binary it runs from. The
/// init of `run` (started at once) and of `create` (waiting) runs the start
/// trampoline by then, which refuses such an argv (exit 1): never rrun.
/// With the protection off (the attack build), the init still runs from
/// the writable rrun binary and the container gets rrun.
#[test]
fn cve_2019_5736_a_program_executing_proc_self_exe_never_gets_rrun() {
    if !is_rrun() {
        return;
    }
    let b = Bundle::new("selfexe").args(&["/proc/self/exe", "--version"]);
    let r = run(&b);
    assert!(!r.stdout.contains("rrun version"), "run: {r:?}");
    assert_eq!(r.code, 1, "run: the trampoline refuses: {r:?}");
    // create and start: the program's output goes to create's stdout.
    let (text, _) = Captured::create(b).start_to_end();
    assert!(!text.contains("rrun version"), "create/start: {text}");
    if let Some(build) = attack_build() {
        // The attack build is dynamic: give the container the host's loader
        // and libraries, so that rrun can run there.
        let mut weak = Bundle::new("selfexe-weak").args(&["/proc/self/exe", "--version"]);
        weak.private_rootfs();
        let weak = weak.edit(|s| {
            let mounts = s["mounts"].as_array_mut().expect("mounts");
            for dest in ["/lib64", "/lib"] {
                let src = std::fs::canonicalize(dest).unwrap_or_else(|_| dest.into());
                mounts.push(json!({"destination": dest, "type": "bind", "source": src,
                                   "options": ["rbind", "ro"]}));
            }
        });
        weak.write();
        let id = unique_id("selfexe-weak");
        let bundle = weak.path().to_str().unwrap_or(".");
        let r = with(
            &build,
            &["run", "--bundle", bundle, &id],
            &[("RRUN_TEST_DISABLE", "readonly-self")],
        )
        .output()
        .expect("run");
        let _ = runtime(&["delete", "--force", &id]);
        let stdout = String::from_utf8_lossy(&r.stdout);
        assert!(
            stdout.contains("rrun version"),
            "without the protection the container must get rrun (else this test proves nothing): {stdout} {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
}

/// CVE-2019-5736 against the process `exec` sends in, held inside the
/// container's pid namespace while it is still rrun.
fn attack_exec_process(bin: &Path, disable: Option<&str>) -> (bool, String) {
    let out = env().scratch.join(unique_id("cve5736x"));
    std::fs::create_dir_all(&out).expect("out dir");
    let pause = env().scratch.join(unique_id("pause"));
    std::fs::create_dir_all(&pause).expect("pause dir");
    let b = ptrace_bundle("c5736x", &out);
    b.write();
    let id = unique_id("c5736x");
    let before = std::fs::read(bin).expect("read victim");
    assert!(
        ok(with(
            bin,
            &[
                "run",
                "-d",
                "--bundle",
                b.path().to_str().unwrap_or("."),
                &id
            ],
            &[]
        )),
        "run"
    );
    // The attacker finds the exec'd process by a marker in its command line.
    let marker = format!("MARK{}", std::process::id());
    // The script builds the marker at run time, so it does not match itself.
    let script = format!(
        "M=MARK; M=${{M}}{}; while :; do for p in /proc/[0-9]*; do grep -q $M $p/cmdline 2>/dev/null && TARGET=${{p#/proc/}} && break 2; done; sleep 0.02; done; {}",
        std::process::id(),
        HOLD_AND_WRITE
    );
    assert!(
        ok(with(
            bin,
            &["exec", "-d", &id, "/bin/sh", "-c", &script],
            &[]
        )),
        "exec the attacker"
    );
    let mut envs = vec![
        ("RRUN_TEST_PAUSE", "exec-entered"),
        ("RRUN_TEST_PAUSE_DIR", pause.to_str().unwrap_or("")),
    ];
    if let Some(d) = disable {
        envs.push(("RRUN_TEST_DISABLE", d));
    }
    let mut victim_exec = with(bin, &["exec", &id, "/bin/true", &marker], &envs)
        .spawn()
        .expect("exec");
    assert!(
        wait_for(&pause.join("exec-entered.ready"), 10),
        "the exec'd process never paused"
    );
    assert!(
        wait_for(&out.join("held"), 10),
        "the attacker never held it: {:?}",
        std::fs::read_dir(&out).map(|d| d.count())
    );
    std::fs::write(pause.join("exec-entered.go"), "").expect("release");
    let _ = victim_exec.wait();
    std::fs::write(out.join("go"), "").expect("go");
    wait_for(&out.join("rc"), 10);
    let err = std::fs::read_to_string(out.join("err")).unwrap_or_default();
    // The real runtime deletes: a successful attack leaves `bin` broken.
    let _ = runtime(&["delete", "--force", &id]);
    let changed = std::fs::read(bin).map(|a| a != before).unwrap_or(true);
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&pause);
    (changed, err)
}

#[test]
fn cve_2019_5736_the_exec_process_cannot_be_overwritten() {
    let Some(build) = attack_build() else {
        return; // needs the pause point of the attack-tests build
    };
    let victim = victim_copy(&build, "exec");
    let (changed, err) = attack_exec_process(&victim, None);
    assert!(
        !changed,
        "the rrun binary was overwritten through the exec'd process"
    );
    assert!(err.contains("Read-only file system"), "{err:?}");
    let weak = victim_copy(&build, "exec-weak");
    let (changed, err) = attack_exec_process(&weak, Some("readonly-self"));
    assert!(
        changed,
        "without the protection the attack must succeed: {err:?}"
    );
    let _ = std::fs::remove_file(victim);
    let _ = std::fs::remove_file(weak);
}

/// CVE-2024-21626: a cwd through a descriptor rrun holds while it sets up
/// (/proc/self/fd/N) must not put the process outside the container.
fn cwd_escapes(bin: Option<&Path>, envs: &[(&str, &str)]) -> Vec<String> {
    let mut escaped = Vec::new();
    for fd in 3..=12 {
        let b = Bundle::new("cwd").set("/process/cwd", json!(format!("/proc/self/fd/{fd}")));
        b.write();
        let id = unique_id("cwd");
        let cmd = match bin {
            Some(bin) => with(
                bin,
                &["run", "--bundle", b.path().to_str().unwrap_or("."), &id],
                envs,
            ),
            None => rt(&["run", "--bundle", b.path().to_str().unwrap_or("."), &id]),
        };
        let out = { cmd }.output().expect("run");
        let _ = runtime(&["delete", "--force", &id]);
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            let cwd = v["cwd"].as_str().unwrap_or("").to_string();
            // Inside: a path the process can name from its own root.
            if cwd.is_empty() || cwd.starts_with("(unreachable)") {
                escaped.push(format!("fd {fd}: cwd {cwd:?}"));
            }
        }
    }
    escaped
}

#[test]
fn cve_2024_21626_cwd_cannot_leave_the_container() {
    let escaped = cwd_escapes(None, &[]);
    assert!(
        escaped.is_empty(),
        "the process started outside the container: {escaped:?}"
    );
    if let Some(build) = attack_build() {
        let escaped = cwd_escapes(Some(&build), &[("RRUN_TEST_DISABLE", "cwd-check")]);
        assert!(
            !escaped.is_empty(),
            "without the check a leaked descriptor must be reachable (else this proves nothing)"
        );
    }
}

#[test]
fn cve_2024_21626_exec_cwd_cannot_leave_the_container() {
    let c = Container::create(Bundle::new("xcwd").args(&["/bin/probe", "sleep", "30"]));
    c.start().expect_ok();
    for fd in 3..=12 {
        let cwd = format!("/proc/self/fd/{fd}");
        let r = runtime(&["exec", "--cwd", &cwd, &c.id, "/bin/probe", "report"]);
        if r.ok() {
            let v = r.json();
            let got = v["cwd"].as_str().unwrap_or("");
            assert!(
                !got.is_empty() && !got.starts_with("(unreachable)"),
                "fd {fd}: exec cwd {got:?} is outside"
            );
        }
    }
}

/// CVE-2021-30465: the mount target is swapped for a symlink to a host
/// directory while rrun is held between resolving it and mounting.
fn symlink_swap(bin: &Path, envs: &[(&str, &str)]) -> bool {
    let mut b = Bundle::new("swap");
    let rootfs = b.private_rootfs();
    std::fs::create_dir_all(rootfs.join("mnt1")).expect("mnt1");
    let host = env().scratch.join(unique_id("hostdir"));
    std::fs::create_dir_all(&host).expect("host dir");
    std::fs::write(host.join("marker"), "host").expect("marker");
    let pause = env().scratch.join(unique_id("pause"));
    std::fs::create_dir_all(&pause).expect("pause dir");
    let b = b
        .edit(|s| {
            let m = s["mounts"].as_array_mut().expect("mounts");
            m.push(json!({"destination": "/mnt1", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
            m.push(json!({"destination": "/h", "type": "bind", "source": host, "options": ["rbind"]}));
        })
        .args(&["/bin/sh", "-c", "cat /h/marker 2>/dev/null || echo gone"]);
    b.write();
    let id = unique_id("swap");
    let mut envs = envs.to_vec();
    let pause_s = pause.display().to_string();
    envs.push(("RRUN_TEST_PAUSE", "mount-target:/mnt1"));
    envs.push(("RRUN_TEST_PAUSE_DIR", &pause_s));
    let child = with(
        bin,
        &["run", "--bundle", b.path().to_str().unwrap_or("."), &id],
        &envs,
    )
    .stdout(Stdio::piped())
    .spawn()
    .expect("run");
    assert!(
        wait_for(&pause.join("mount-target.ready"), 10),
        "never reached the pause point"
    );
    std::fs::rename(rootfs.join("mnt1"), rootfs.join("mnt1.old")).expect("rename");
    std::os::unix::fs::symlink(&host, rootfs.join("mnt1")).expect("symlink");
    std::fs::write(pause.join("mount-target.go"), "").expect("go");
    let out = child.wait_with_output().expect("wait");
    // The real runtime deletes: a successful attack leaves `bin` broken.
    let _ = runtime(&["delete", "--force", &id]);
    let _ = std::fs::remove_dir_all(&host);
    let _ = std::fs::remove_dir_all(&pause);
    // Redirected: the tmpfs covered the host directory, and /h shows it.
    String::from_utf8_lossy(&out.stdout).trim() == "gone"
}

#[test]
fn cve_2021_30465_a_swapped_mount_target_is_not_followed() {
    let Some(build) = attack_build() else {
        return; // needs the pause point of the attack-tests build
    };
    assert!(
        !symlink_swap(&build, &[]),
        "the mount followed a symlink swapped in during setup"
    );
    assert!(
        symlink_swap(&build, &[("RRUN_TEST_DISABLE", "in-root-mounts")]),
        "with path lookups the swap must redirect the mount (else this proves nothing)"
    );
}

/// 2025 runc CVEs (CVE-2025-31133 class): /dev/null is a symlink to a
/// sensitive proc file; masking must not bind that file over the masked paths.
fn dev_null_mask(bin: Option<&Path>, envs: &[(&str, &str)]) -> String {
    let devdir = env().scratch.join(unique_id("devdir"));
    std::fs::create_dir_all(&devdir).expect("dev dir");
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", devdir.join("null"))
        .expect("symlink");
    let b = Bundle::new("devnull")
        .edit(|s| {
            let m = s["mounts"].as_array_mut().expect("mounts");
            m.retain(|x| !x["destination"].as_str().is_some_and(|d| d.starts_with("/dev")));
            m.push(json!({"destination": "/dev", "type": "bind", "source": devdir, "options": ["rbind"]}));
        })
        .args(&["/bin/sh", "-c", "stat -L -c '%F %t:%T' /proc/keys"]);
    b.write();
    let id = unique_id("devnull");
    let cmd = match bin {
        Some(bin) => with(
            bin,
            &["run", "--bundle", b.path().to_str().unwrap_or("."), &id],
            envs,
        ),
        None => rt(&["run", "--bundle", b.path().to_str().unwrap_or("."), &id]),
    };
    let out = { cmd }.output().expect("run");
    let _ = runtime(&["delete", "--force", &id]);
    let _ = std::fs::remove_dir_all(&devdir);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn cve_2025_31133_masks_use_a_verified_null_device() {
    let got = dev_null_mask(None, &[]);
    if !is_rrun() {
        // Debian's runc 1.1.5 predates the fix: it masks with whatever
        // /dev/null is (here a regular file). A finding, recorded in
        // docs/security.md, not a reason to fail the oracle run.
        eprintln!("runtime masks /proc/keys with: {got}");
        return;
    }
    assert_eq!(
        got, "character special file 1:3",
        "/proc/keys must be masked with the real null device"
    );
    if let Some(build) = attack_build() {
        let weak = dev_null_mask(Some(&build), &[("RRUN_TEST_DISABLE", "dev-null-check")]);
        assert_ne!(
            weak, "character special file 1:3",
            "trusting /dev/null must let the symlink through (else this proves nothing)"
        );
    }
}

/// CVE-2026-41579 class: /dev entries of the image that point elsewhere are
/// never followed when devices are created (a host file must not be chmod'ed).
#[test]
fn dev_entries_pointing_outside_are_not_followed() {
    let mut b = Bundle::new("devsym");
    let rootfs = b.private_rootfs();
    let host = env().scratch.join(unique_id("hostfile"));
    std::fs::write(&host, "host").expect("host file");
    std::fs::set_permissions(&host, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    std::fs::create_dir_all(rootfs.join("dev")).expect("dev");
    let _ = std::fs::remove_file(rootfs.join("dev/full"));
    std::os::unix::fs::symlink(&host, rootfs.join("dev/full")).expect("symlink");
    let b = b.without_mount("/dev").args(&["/bin/true"]);
    let r = run(&b);
    let mode = std::fs::metadata(&host)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .unwrap_or(0);
    let content = std::fs::read_to_string(&host).unwrap_or_default();
    let _ = std::fs::remove_file(&host);
    assert_eq!(
        (mode, content.as_str()),
        (0o600, "host"),
        "the host file was touched through /dev/full"
    );
    if is_rrun() {
        assert!(
            !r.ok() && r.stderr.contains("/dev/full"),
            "a clear error: {}",
            r.stderr
        );
    }
}

/// No host descriptor reaches the container (CVE-2024-21626 class), even
/// with --preserve-fds: only what was asked for.
#[test]
fn only_asked_descriptors_reach_the_container() {
    let r = report(Bundle::new("fds2"));
    let fds: Vec<String> = r["fds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f[0].as_i64().unwrap_or(0) > 2) // stdio is the caller's
        .map(|f| f.to_string())
        .collect();
    for f in &fds {
        assert!(
            !f.contains("rrun") && !f.contains("socket:") && !f.contains("/run/"),
            "host descriptor leaked: {f}"
        );
    }
}

/// The runtime reads nothing from the container's /proc or /sys to decide
/// how far to confine (the 2025 procfs class, read side): a container
/// without a proc mount whose image plants a /proc claiming that the kernel
/// knows 6 capabilities and that setgroups is denied keeps neither its
/// supplementary groups nor CAP_BPF.
#[test]
fn a_planted_proc_does_not_weaken_the_credentials() {
    let mut b = Bundle::new("fakeproc");
    let rootfs = b.private_rootfs();
    let fake = rootfs.join("proc");
    std::fs::create_dir_all(fake.join("sys/kernel")).expect("fake proc");
    std::fs::create_dir_all(fake.join("self")).expect("fake proc");
    std::fs::write(fake.join("sys/kernel/cap_last_cap"), "5\n").expect("cap_last_cap");
    std::fs::write(fake.join("self/setgroups"), "deny\n").expect("setgroups");
    let b = b
        .without_mount("/proc")
        .edit(|s| {
            s["linux"]["maskedPaths"] = json!([]);
            s["linux"]["readonlyPaths"] = json!([]);
            s["process"]["user"]["additionalGids"] = json!([1234, 4321]);
            s["process"]["capabilities"] = json!({"bounding": ["CAP_KILL"],
                "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]});
        })
        // getgroups(0, NULL); prctl(PR_CAPBSET_READ, CAP_BPF)
        .args(&[
            "/bin/sh",
            "-c",
            "/bin/probe syscall 115 0 0; /bin/probe syscall 157 23 39",
        ]);
    let r = run(&b);
    if !is_rrun() {
        // runc 1.1.5 needs /proc in the container (it closes descriptors
        // through /proc/self/fd): it cannot run this bundle at all.
        assert!(!r.ok());
        return;
    }
    assert!(r.ok(), "{}", r.stderr);
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        ["ok 2", "ok 0"],
        "two supplementary groups, CAP_BPF dropped from the bounding set"
    );
}

/// Nothing but procfs goes on /proc, and inside /proc only the files lxcfs
/// emulates (CVE-2019-16884 class; runc's rule and error text).
#[test]
fn only_procfs_on_proc_and_only_lxcfs_files_inside() {
    let host = env().scratch.join(unique_id("meminfo"));
    std::fs::write(&host, "MemTotal: 1234 kB\n").expect("meminfo");
    let with = |tag: &str, m: serde_json::Value, replace_proc: bool| {
        Bundle::new(tag)
            .edit(|s| {
                if replace_proc {
                    remove_mount(s, "/proc");
                }
                s["mounts"].as_array_mut().expect("mounts").push(m);
            })
            .args(&["/bin/sh", "-c", "head -n1 /proc/meminfo"])
    };
    // A tmpfs, and a bind of an ordinary directory, on /proc: refused.
    let tmpfs = json!({"destination": "/proc", "type": "tmpfs", "source": "tmpfs"});
    let dir = json!({"destination": "/proc", "type": "bind", "source": env().scratch, "options": ["rbind"]});
    for (tag, m) in [("proctmpfs", tmpfs), ("procdir", dir)] {
        let r = run(&with(tag, m, true));
        assert!(!r.ok(), "{tag}: mounted");
        // runc 1.1.5 refuses the bind with this text; the tmpfs fails later.
        assert!(
            r.stderr.contains("not of type proc") || (!is_rrun() && tag == "proctmpfs"),
            "{tag}: {}",
            r.stderr
        );
    }
    // A bind of the host's procfs root on /proc: allowed.
    let procbind =
        json!({"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]});
    run(&with("procbind", procbind, true)).expect_ok();
    // Inside /proc: a tmpfs on /proc/sys is refused, an lxcfs-style file is not.
    let sys = json!({"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"});
    let r = run(&with("procsys", sys, false));
    // runc 1.1.5 checks bind mounts only (docs/differences.md).
    assert!(
        (!r.ok() && r.stderr.contains("inside /proc")) || !is_rrun(),
        "{}",
        r.stderr
    );
    let lxcfs = json!({"destination": "/proc/meminfo", "type": "bind", "source": host, "options": ["bind", "ro"]});
    let r = run(&with("lxcfs", lxcfs, false)).expect_ok();
    assert_eq!(r.stdout.trim(), "MemTotal: 1234 kB");
    let _ = std::fs::remove_file(&host);

    // The host's procfs bound elsewhere is not the container's /proc: a
    // mount below it is allowed (as in runc).
    let hostproc = Bundle::new("hostproc")
        .edit(|s| {
            let mounts = s["mounts"].as_array_mut().expect("mounts");
            mounts.push(json!({"destination": "/hostproc", "type": "bind", "source": "/proc", "options": ["rbind"]}));
            mounts.push(json!({"destination": "/hostproc/driver", "type": "tmpfs", "source": "tmpfs"}));
        })
        .args(&["/bin/true"]);
    run(&hostproc).expect_ok();
    // A symlink of the image leading into /proc is followed in the root and
    // caught on the resolved mount point.
    let mut b = Bundle::new("proclink");
    let rootfs = b.private_rootfs();
    std::os::unix::fs::symlink("/proc", rootfs.join("evil")).expect("symlink");
    let b = b
        .edit(|s| {
            s["mounts"]
                .as_array_mut()
                .expect("mounts")
                .push(json!({"destination": "/evil/driver", "type": "tmpfs", "source": "tmpfs"}));
        })
        .args(&["/bin/true"]);
    let r = run(&b);
    if is_rrun() {
        assert!(!r.ok() && r.stderr.contains("inside /proc"), "{}", r.stderr);
    }
}
