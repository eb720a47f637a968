//! Embed the git commit in `rrun --version` and `features`, and assemble
//! the start trampoline (src/process/trampoline.rs) where there is one for
//! the target: with the C compiler that links rrun anyway.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    commit();
    trampoline();
    // hack/build.sh links with it: a new layout must relink rrun.
    println!("cargo:rerun-if-changed=hack/layout/hot-text.ld");
}

/// `cfg(rrun_trampoline)` and $OUT_DIR/trampoline on an architecture with
/// an assembly source; elsewhere rrun protects its init by re-executing
/// (src/reexec.rs). A source that does not assemble is a build error: the
/// C compiler is the one that links rrun.
fn trampoline() {
    println!("cargo:rustc-check-cfg=cfg(rrun_trampoline)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let src = format!("src/process/trampoline_{arch}.S");
    if !std::path::Path::new(&src).exists() {
        return;
    }
    println!("cargo:rerun-if-changed={src}");
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    println!("cargo:rerun-if-env-changed=CC");
    // CC may carry arguments ("ccache cc").
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cc = cc.split_whitespace();
    let built = Command::new(cc.next().unwrap_or("cc"))
        .args(cc)
        .args(["-nostdlib", "-static", "-no-pie", "-s"])
        .args(["-Wl,--build-id=none", "-Wl,-z,noseparate-code"])
        .args(["-Wl,-z,norelro", "-Wl,-z,noexecstack", "-o"])
        .arg(out.join("trampoline"))
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success());
    assert!(built, "could not assemble {src} with the C compiler (CC)");
    println!("cargo:rustc-cfg=rrun_trampoline");
}

fn commit() {
    // Plumbing only: `git describe --dirty` refreshes .git/index, which
    // would make the next build rerun this script and rebuild rrun.
    let git = |args: &[&str]| Command::new("git").args(args).output().ok();
    let commit = git(&["rev-parse", "--short=7", "HEAD"])
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let dirty = git(&["diff-index", "--quiet", "HEAD", "--"]).is_some_and(|o| !o.status.success());
    let suffix = if dirty && !commit.is_empty() {
        "-dirty"
    } else {
        ""
    };
    println!("cargo:rustc-env=RRUN_COMMIT={commit}{suffix}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
}
