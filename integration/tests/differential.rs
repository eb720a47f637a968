//! Differential tests: the same bundles under Debian's runc (the oracle) and
//! under the runtime under test, in one test, observations compared field
//! by field. Every other test file also runs against runc (hack/test.sh runs
//! the whole suite twice); this one puts the two side by side so a
//! difference shows as a diff. Known, intended differences are skipped here
//! by name and listed in docs/differences.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use integration::*;
use serde_json::{json, Value};

const RUNC: &str = "/usr/sbin/runc";

/// A runtime binary with a --root of its own.
struct Rt {
    bin: PathBuf,
    root: PathBuf,
}

impl Rt {
    fn new(bin: &Path, tag: &str) -> Rt {
        Rt {
            bin: bin.to_path_buf(),
            root: env().state_root.with_extension(format!("diff-{tag}")),
        }
    }

    fn cmd(&self, args: &[&str]) -> Run {
        let out_path = env().scratch.join(unique_id("diff-out"));
        let err_path = env().scratch.join(unique_id("diff-err"));
        let status = Command::new(&self.bin)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).expect("out file"))
            .stderr(std::fs::File::create(&err_path).expect("err file"))
            .status()
            .expect("spawn runtime");
        let take = |p: &Path| {
            let s = std::fs::read_to_string(p).unwrap_or_default();
            let _ = std::fs::remove_file(p);
            s
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: take(&out_path),
            stderr: take(&err_path),
        }
    }

    fn run(&self, b: &Bundle) -> Run {
        b.write();
        let id = unique_id("diff");
        let r = self.cmd(&["run", "--bundle", b.path().to_str().unwrap_or("."), &id]);
        let _ = self.cmd(&["delete", "--force", &id]);
        r
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Both runtimes, or None when the oracle is missing or is the runtime under test.
fn pair(tag: &str) -> Option<(Rt, Rt)> {
    if !Path::new(RUNC).exists() || !is_rrun() {
        eprintln!("skipped: needs {RUNC} and the runtime under test being rrun");
        return None;
    }
    Some((
        Rt::new(&env().runtime, &format!("{tag}-a")),
        Rt::new(Path::new(RUNC), &format!("{tag}-b")),
    ))
}

/// The probe's report, with what legitimately differs per run removed.
fn report_of(rt: &Rt, b: &Bundle) -> Value {
    let r = rt.run(b);
    assert!(r.ok(), "{}: {}", rt.bin.display(), r.stderr);
    let mut v: Value = serde_json::from_str(r.stdout.trim()).expect("probe json");
    let obj = v.as_object_mut().expect("object");
    // The test's own files and the cgroup path (named after the id) differ.
    obj.remove("fds");
    obj.remove("cgroup");
    // Mount table: compared as (mount point, fs type, per-mount options).
    if let Some(mi) = obj.remove("mountinfo") {
        let shape: Vec<String> = mi
            .as_str()
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (pre, post) = l.split_once(" - ")?;
                let f: Vec<&str> = pre.split(' ').collect();
                let fstype = post.split(' ').next()?;
                let mp = f.get(4)?;
                // /sys/fs/cgroup/* is deliberately different (docs/differences.md).
                if mp.starts_with("/sys/fs/cgroup") {
                    return None;
                }
                Some(format!("{mp} {fstype} {}", f.get(5)?))
            })
            .collect();
        obj.insert("mount_shape".into(), json!(shape));
    }
    v
}

fn compare(tag: &str, edit: impl Fn(&mut Value)) {
    let Some((ours, runc)) = pair(tag) else {
        return;
    };
    let make = || Bundle::new(tag).edit(&edit).args(&["/bin/probe", "report"]);
    let (a, b) = (report_of(&ours, &make()), report_of(&runc, &make()));
    let mut diffs = Vec::new();
    for (k, va) in a.as_object().expect("object") {
        let vb = &b[k];
        if va != vb {
            diffs.push(format!("{k}:\n  rrun: {va}\n  runc: {vb}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{tag}: rrun and runc differ:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn default_spec_is_observed_alike() {
    compare("d-default", |_| {});
}

#[test]
fn user_caps_rlimits_env_cwd_alike() {
    compare("d-process", |s| {
        s["process"]["user"] =
            json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 63});
        s["process"]["cwd"] = json!("/tmp");
        s["process"]["env"] = json!(["PATH=/bin", "A=1", "HOME=/home/x"]);
        s["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256},
                                          {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}]);
        let caps = json!(["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"]);
        s["process"]["capabilities"] = json!({"bounding": caps, "effective": caps,
                                              "permitted": caps, "inheritable": caps});
        s["process"]["oomScoreAdj"] = json!(200);
    });
}

#[test]
fn mounts_masks_and_readonly_paths_alike() {
    compare("d-mounts", |s| {
        s["mounts"].as_array_mut().expect("mounts").extend([
            json!({"destination": "/ro", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "nodev", "size=1m"]}),
            json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs", "options": ["noexec", "nosuid", "noatime", "mode=700"]}),
        ]);
        s["linux"]["maskedPaths"]
            .as_array_mut()
            .expect("masked")
            .push(json!("/proc/cpuinfo"));
        s["linux"]["readonlyPaths"]
            .as_array_mut()
            .expect("ro")
            .push(json!("/proc/loadavg"));
        s["root"]["readonly"] = json!(false);
    });
}

#[test]
fn user_namespace_alike() {
    // gid 5 (tty) is mapped: devpts keeps its options.
    compare("d-userns", |s| {
        add_userns(s, json!([id_range(0, 300000, 65536)]))
    });
}

#[test]
fn exit_codes_and_error_classes_alike() {
    let Some((ours, runc)) = pair("d-exit") else {
        return;
    };
    for (args, what) in [
        (vec!["/bin/probe", "exit", "0"], "exit 0"),
        (vec!["/bin/probe", "exit", "3"], "exit 3"),
        (vec!["/bin/sh", "-c", "kill -9 $$"], "killed by SIGKILL"),
        (vec!["/no/such/program"], "missing program"),
        (vec!["/etc/passwd"], "not executable"),
    ] {
        let b = || Bundle::new("d-exit").args(&args);
        let (a, r) = (ours.run(&b()), runc.run(&b()));
        assert_eq!(a.code, r.code, "{what}: rrun {a:?} runc {r:?}");
    }
}

/// state JSON of each status: the same fields, the same values where they
/// are not per-container.
#[test]
fn state_json_alike() {
    let Some((ours, runc)) = pair("d-state") else {
        return;
    };
    let states = |rt: &Rt| -> Vec<Value> {
        let b = Bundle::new("d-state").args(&["/bin/probe", "sleep", "30"]);
        b.write();
        let id = unique_id("d-state");
        let mut out = Vec::new();
        let st = |rt: &Rt| -> Value {
            serde_json::from_str(&rt.cmd(&["state", &id]).stdout).unwrap_or(Value::Null)
        };
        assert!(rt
            .cmd(&["create", "--bundle", b.path().to_str().unwrap_or("."), &id])
            .ok());
        out.push(st(rt));
        assert!(rt.cmd(&["start", &id]).ok());
        out.push(st(rt));
        assert!(rt.cmd(&["kill", &id, "KILL"]).ok());
        for _ in 0..200 {
            if st(rt)["status"] == "stopped" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        out.push(st(rt));
        assert!(rt.cmd(&["delete", &id]).ok());
        out.push(json!({"after delete": rt.cmd(&["state", &id]).ok()}));
        out
    };
    let (a, r) = (states(&ours), states(&runc));
    for (sa, sr) in a.iter().zip(&r) {
        let keys = |v: &Value| -> Vec<String> {
            v.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(keys(sa), keys(sr), "state fields: rrun {sa} runc {sr}");
        for k in ["status", "after delete"] {
            assert_eq!(sa.get(k), sr.get(k), "{k}: rrun {sa} runc {sr}");
        }
        assert_eq!(
            sa["pid"].as_i64().map(|p| p > 0),
            sr["pid"].as_i64().map(|p| p > 0)
        );
    }
}
