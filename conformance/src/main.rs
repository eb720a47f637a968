//! conformance: a runtime-agnostic runtime-spec (v1.3.0) conformance suite.
//!
//!   conformance --runtime PATH [--name NAME] [--wrapper ARG]... [--rootfs DIR]
//!               [--jobs N] [--filter SUBSTR] [--report-only] [--spec-version V]
//!   conformance matrix [--rrun PATH] [--runc PATH] [--crun PATH] [--doc FILE] [--jobs N]
//!   conformance check        (requirements.tsv and the tests agree)
//!
//! Each test prints one line; the run closes with `NAME: N passed, M failed,
//! K skipped` and exits 1 if any test failed (0 with --report-only). `matrix`
//! runs rrun, runc and crun (crun in a private mount namespace without
//! /sys/fs/cgroup/unified) and writes docs/conformance.md.

mod doc;
mod harness;
mod reqs;
mod tests;

use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use harness::{Ctx, Runtime, Why};

/// One test's result for one runtime.
#[derive(Clone, Debug)]
pub struct TestResult {
    pub id: &'static str,
    pub since: &'static str,
    pub outcome: Outcome,
    /// Set when the runtime declares a spec version older than `since`.
    pub na: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
    /// A failure listed in conformance/deviations.tsv for this runtime:
    /// deliberate and documented (the reason, then the failure).
    Deviation(String, String),
}

/// conformance/deviations.tsv: rrun's deliberate deviations.
const DEVIATIONS: &str = include_str!("../deviations.tsv");

/// The documented reason if `test` is a deliberate deviation of `runtime`.
pub fn deviation(runtime: &str, test: &str) -> Option<&'static str> {
    if runtime != "rrun" {
        return None;
    }
    DEVIATIONS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .find(|(id, _)| *id == test)
        .map(|(_, why)| why)
}

pub struct RunReport {
    pub name: String,
    pub version: String,
    pub spec_version: String,
    pub wrapper: Vec<String>,
    pub results: Vec<TestResult>,
}

impl RunReport {
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let (mut p, mut f, mut s, mut na) = (0, 0, 0, 0);
        for r in &self.results {
            if r.na {
                na += 1;
                continue;
            }
            match r.outcome {
                Outcome::Pass => p += 1,
                Outcome::Fail(_) => f += 1,
                Outcome::Skip(_) => s += 1,
                Outcome::Deviation(..) => {}
            }
        }
        (p, f, s, na)
    }
}

pub const CRUN_WRAPPER: &[&str] = &[
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    "umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$0\" \"$@\"",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn usage() -> ! {
    eprintln!(
        "usage: conformance --runtime PATH [--name NAME] [--wrapper ARG]... [--rootfs DIR] [--jobs N] [--filter SUBSTR] [--report-only] [--spec-version V]\n       conformance matrix [--rrun PATH] [--runc PATH] [--crun PATH] [--doc FILE] [--jobs N] [--filter SUBSTR]\n       conformance check"
    );
    std::process::exit(2)
}

struct Opts {
    runtime: Option<PathBuf>,
    name: Option<String>,
    wrapper: Vec<String>,
    rootfs: PathBuf,
    jobs: usize,
    filter: Option<String>,
    report_only: bool,
    spec_version: Option<String>,
    rrun: PathBuf,
    runc: PathBuf,
    crun: PathBuf,
    doc: PathBuf,
    timeout: u64,
}

fn parse(args: &[String]) -> Opts {
    let ws = workspace();
    let mut o = Opts {
        runtime: None,
        name: None,
        wrapper: Vec::new(),
        rootfs: std::env::var_os("CONFORMANCE_ROOTFS")
            .map(PathBuf::from)
            .unwrap_or_else(|| ws.join("target/test-bundle/rootfs")),
        jobs: 4,
        filter: None,
        report_only: false,
        spec_version: None,
        rrun: ws.join("target/release/rrun"),
        runc: PathBuf::from("/usr/sbin/runc"),
        crun: PathBuf::from("/usr/bin/crun"),
        doc: ws.join("docs/conformance.md"),
        timeout: 30,
    };
    let mut i = 0;
    let val = |i: &mut usize| -> String {
        *i += 1;
        args.get(*i).cloned().unwrap_or_else(|| usage())
    };
    while i < args.len() {
        match args[i].as_str() {
            "--runtime" => o.runtime = Some(PathBuf::from(val(&mut i))),
            "--name" => o.name = Some(val(&mut i)),
            "--wrapper" => o.wrapper.push(val(&mut i)),
            "--crun-hybrid-wrapper" => {
                o.wrapper = CRUN_WRAPPER.iter().map(|s| s.to_string()).collect()
            }
            "--rootfs" => o.rootfs = PathBuf::from(val(&mut i)),
            "--jobs" | "-j" => o.jobs = val(&mut i).parse().unwrap_or(4),
            "--filter" => o.filter = Some(val(&mut i)),
            "--report-only" => o.report_only = true,
            "--spec-version" => o.spec_version = Some(val(&mut i)),
            "--rrun" => o.rrun = PathBuf::from(val(&mut i)),
            "--runc" => o.runc = PathBuf::from(val(&mut i)),
            "--crun" => o.crun = PathBuf::from(val(&mut i)),
            "--doc" => o.doc = PathBuf::from(val(&mut i)),
            "--timeout" => o.timeout = val(&mut i).parse().unwrap_or(30),
            "-h" | "--help" => usage(),
            _ => usage(),
        }
        i += 1;
    }
    o
}

/// The runtime's declared spec version: features' ociVersionMax, else the
/// `spec:` line of --version.
fn declared_version(rt: &Runtime) -> String {
    if let Ok(v) = rt.exec(&["features"]).json() {
        if let Some(s) = v["ociVersionMax"].as_str() {
            return s.to_string();
        }
    }
    let mut c = rt.command(&[]);
    c.args(["--version"]);
    // --root before --version is accepted by runc-compatible CLIs.
    let out = harness::run_cmd(c, &rt.scratch, 10);
    out.stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("spec:").map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "1.0.0".into())
}

fn version_line(rt: &Runtime) -> String {
    let out = harness::run_cmd(rt.command(&["--version"]), &rt.scratch, 10);
    out.stdout.lines().next().unwrap_or("").trim().to_string()
}

fn make_runtime(name: &str, bin: &Path, wrapper: Vec<String>, o: &Opts) -> Runtime {
    let tag = format!("{name}-{}", std::process::id());
    let scratch = std::env::temp_dir().join(format!("conformance-{tag}"));
    let _ = std::fs::create_dir_all(&scratch);
    let root = PathBuf::from(format!("/run/conformance/{tag}"));
    let mut rt = Runtime {
        name: name.to_string(),
        bin: std::fs::canonicalize(bin).unwrap_or_else(|_| bin.to_path_buf()),
        wrapper,
        root,
        spec_version: String::new(),
        rootfs: std::fs::canonicalize(&o.rootfs).unwrap_or_else(|_| o.rootfs.clone()),
        scratch,
        timeout: o.timeout,
    };
    rt.spec_version = o
        .spec_version
        .clone()
        .unwrap_or_else(|| declared_version(&rt));
    rt
}

/// Delete whatever is left under the runtime's --root, remove the root and
/// scratch, and sweep the suite's cgroups.
fn teardown(rt: &Runtime) {
    if let Ok(rd) = std::fs::read_dir(&rt.root) {
        for e in rd.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            let _ = rt.exec(&["delete", "--force", &id]);
        }
    }
    let _ = std::fs::remove_dir_all(&rt.root);
    let _ = std::fs::remove_dir(rt.root.parent().unwrap_or(Path::new("/nonexistent")));
    let _ = std::fs::remove_dir_all(&rt.scratch);
    let pid = std::process::id().to_string();
    if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
        for h in rd.flatten() {
            if let Ok(sub) = std::fs::read_dir(h.path()) {
                for d in sub.flatten() {
                    let n = d.file_name().to_string_lossy().into_owned();
                    if n.starts_with("cf-") && n.contains(&pid) {
                        let _ = std::fs::remove_dir(d.path());
                    }
                }
            }
        }
    }
}

fn run_suite(rt: &Runtime, o: &Opts) -> RunReport {
    let all = tests::all();
    let selected: Vec<&tests::Test> = all
        .iter()
        .filter(|t| o.filter.as_ref().is_none_or(|f| t.id.contains(f.as_str())))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<TestResult>>> = Mutex::new(vec![None; selected.len()]);
    let out = Mutex::new(());
    std::thread::scope(|s| {
        for _ in 0..o.jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(t) = selected.get(i) else { break };
                let outcome = {
                    let ctx = Ctx::new(rt, t.id);
                    let r = std::panic::catch_unwind(AssertUnwindSafe(|| (t.f)(&ctx)));
                    drop(ctx);
                    match r {
                        Ok(Ok(())) => Outcome::Pass,
                        Ok(Err(Why::Fail(m))) => match deviation(&rt.name, t.id) {
                            Some(why) => Outcome::Deviation(why.to_string(), m),
                            None => Outcome::Fail(m),
                        },
                        Ok(Err(Why::Skip(m))) => Outcome::Skip(m),
                        Err(p) => Outcome::Fail(format!(
                            "panic: {}",
                            p.downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default()
                        )),
                    }
                };
                let na = rt.too_old_for(t.since);
                let line = match (&outcome, na) {
                    (o, true) => format!(
                        "n/a     {} (spec {} > {}'s {}; it would {})",
                        t.id,
                        t.since,
                        rt.name,
                        rt.spec_version,
                        match o {
                            Outcome::Pass => "pass".to_string(),
                            Outcome::Fail(_) => "fail".to_string(),
                            Outcome::Skip(_) => "be skipped".to_string(),
                            Outcome::Deviation(..) => "deviate".to_string(),
                        }
                    ),
                    (Outcome::Pass, _) => format!("ok      {}", t.id),
                    (Outcome::Fail(m), _) => {
                        format!("FAIL    {}: {}", t.id, harness::trunc(m, 400))
                    }
                    (Outcome::Skip(m), _) => format!("skip    {}: skipped: {m}", t.id),
                    (Outcome::Deviation(why, m), _) => format!(
                        "deviate {}: deliberate ({}); it fails: {}",
                        t.id,
                        harness::trunc(why, 120),
                        harness::trunc(m, 200)
                    ),
                };
                {
                    let _g = out.lock();
                    println!("[{}] {line}", rt.name);
                    let _ = std::io::stdout().flush();
                }
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(TestResult {
                        id: t.id,
                        since: t.since,
                        outcome,
                        na,
                    });
                }
            });
        }
    });
    let results = results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    RunReport {
        name: rt.name.clone(),
        version: version_line(rt),
        spec_version: rt.spec_version.clone(),
        wrapper: rt.wrapper.clone(),
        results,
    }
}

fn summary(r: &RunReport) {
    let (p, f, s, na) = r.counts();
    if na > 0 {
        println!(
            "{}: {na} n/a (spec newer than its declared {}; counted as skipped)",
            r.name, r.spec_version
        );
    }
    let dev = r
        .results
        .iter()
        .filter(|x| matches!(x.outcome, Outcome::Deviation(..)))
        .count();
    let dev = if dev > 0 {
        format!(", {dev} deliberate deviations (conformance/deviations.tsv)")
    } else {
        String::new()
    };
    println!(
        "{}: {p} passed, {f} failed, {} skipped{dev}",
        r.name,
        s + na
    );
}

fn preflight(o: &Opts) {
    if !o.rootfs.join("bin/probe").exists() {
        eprintln!(
            "conformance: no test rootfs at {} (build it: cargo build --release -p rrun && cargo rustc --release -p probe --bin probe -- -C target-feature=+crt-static && RRUN=target/release/rrun hack/mkbundle.sh target/test-bundle target/release/probe)",
            o.rootfs.display()
        );
        std::process::exit(2);
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("conformance: the suite creates real containers: run as root");
        std::process::exit(2);
    }
    if let Err(e) = reqs::check() {
        eprintln!("conformance: requirements.tsv and the tests disagree:\n{e}");
        std::process::exit(2);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => match reqs::check() {
            Ok(()) => {
                let (total, _) = reqs::counts();
                println!(
                    "requirements.tsv: {total} requirements, consistent with {} tests",
                    tests::all().len()
                );
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        },
        Some("matrix") => {
            let o = parse(&args[1..]);
            preflight(&o);
            let mut reports = Vec::new();
            for (name, bin, wrapper) in [
                ("rrun", o.rrun.clone(), Vec::new()),
                ("runc", o.runc.clone(), Vec::new()),
                (
                    "crun",
                    o.crun.clone(),
                    CRUN_WRAPPER.iter().map(|s| s.to_string()).collect(),
                ),
            ] {
                if !bin.exists() {
                    eprintln!("conformance: {} not found, skipping {name}", bin.display());
                    continue;
                }
                let rt = make_runtime(name, &bin, wrapper, &o);
                let t0 = std::time::Instant::now();
                let r = run_suite(&rt, &o);
                teardown(&rt);
                summary(&r);
                println!("{name}: {:.0} s", t0.elapsed().as_secs_f64());
                reports.push(r);
            }
            let text = doc::render(&reports);
            if let Err(e) = std::fs::write(&o.doc, text) {
                eprintln!("conformance: write {}: {e}", o.doc.display());
                std::process::exit(1);
            }
            println!("wrote {}", o.doc.display());
            // The closing line counts rrun (the runtime under test).
            if let Some(r) = reports.iter().find(|r| r.name == "rrun") {
                summary(r);
            }
        }
        _ => {
            let o = parse(&args);
            let Some(bin) = o.runtime.clone() else {
                usage()
            };
            preflight(&o);
            let name = o.name.clone().unwrap_or_else(|| {
                bin.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "runtime".into())
            });
            let rt = make_runtime(&name, &bin, o.wrapper.clone(), &o);
            let r = run_suite(&rt, &o);
            teardown(&rt);
            summary(&r);
            let (_, f, _, _) = r.counts();
            if f > 0 && !o.report_only {
                std::process::exit(1);
            }
        }
    }
}

#[cfg(test)]
mod unit {
    #[test]
    fn requirements_match_tests() {
        super::reqs::check().unwrap();
    }
}
