//! Embed the git commit in `rrun --version` and `features`.
use std::process::Command;

fn main() {
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
