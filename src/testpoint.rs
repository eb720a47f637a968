//! Test-only switches for the attack tests (integration/tests/security.rs),
//! compiled in only with the `attack-tests` feature (never in a release):
//! - `pause(point)`: hold rrun at a vulnerable moment, so a test can act
//!   deterministically instead of hoping to win a race. With
//!   RRUN_TEST_PAUSE=<point> and RRUN_TEST_PAUSE_DIR=<dir>, rrun creates
//!   <dir>/<point>.ready and waits (at most 30 s) for <dir>/<point>.go.
//! - `disabled(protection)`: RRUN_TEST_DISABLE=<name>[,<name>...] turns a
//!   protection off, to show that its attack test then fails.
//!   Names: readonly-self, cwd-check, in-root-mounts, dev-null-check.

#[cfg(feature = "attack-tests")]
pub fn pause(point: &str) {
    pause_at(point, "")
}

/// Like `pause`, for one occurrence: RRUN_TEST_PAUSE=<point>:<detail>.
#[cfg(feature = "attack-tests")]
pub fn pause_at(point: &str, detail: &str) {
    let want = std::env::var("RRUN_TEST_PAUSE").unwrap_or_default();
    let (p, d) = want.split_once(':').unwrap_or((want.as_str(), ""));
    if p != point || d != detail {
        return;
    }
    // The directory was opened at start: the pause may come after rrun
    // entered the container's mount namespace, where the path is not.
    let Some(dir) = PAUSE_DIR.get() else { return };
    use nix::fcntl::{openat, AtFlags, OFlag};
    use nix::sys::stat::{fstatat, Mode};
    let ready = format!("{point}.ready");
    let _ = openat(
        dir,
        ready.as_str(),
        OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    );
    let go = format!("{point}.go");
    for _ in 0..3000 {
        if fstatat(dir, go.as_str(), AtFlags::empty()).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[cfg(feature = "attack-tests")]
static PAUSE_DIR: std::sync::OnceLock<std::os::fd::OwnedFd> = std::sync::OnceLock::new();

/// Open RRUN_TEST_PAUSE_DIR (call once, early in main).
#[cfg(feature = "attack-tests")]
pub fn init() {
    use nix::fcntl::OFlag;
    if let Some(dir) = std::env::var_os("RRUN_TEST_PAUSE_DIR") {
        if let Ok(fd) = nix::fcntl::open(
            std::path::Path::new(&dir),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        ) {
            let _ = PAUSE_DIR.set(fd);
        }
    }
}

#[cfg(not(feature = "attack-tests"))]
#[inline(always)]
pub fn init() {}

#[cfg(not(feature = "attack-tests"))]
#[inline(always)]
pub fn pause(_point: &str) {}

#[cfg(not(feature = "attack-tests"))]
#[inline(always)]
pub fn pause_at(_point: &str, _detail: &str) {}

#[cfg(feature = "attack-tests")]
pub fn disabled(protection: &str) -> bool {
    std::env::var("RRUN_TEST_DISABLE").is_ok_and(|v| v.split(',').any(|p| p == protection))
}

#[cfg(not(feature = "attack-tests"))]
#[inline(always)]
pub fn disabled(_protection: &str) -> bool {
    false
}
