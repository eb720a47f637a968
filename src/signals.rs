//! Signal names and numbers as runc's CLI takes them ("KILL", "SIGKILL",
//! "sigkill", "9"), and the blocking and forwarding of signals by a
//! foreground `run` or `exec`.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::error::{Error, Result};

const NAMES: &[(&str, i32)] = &[
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGILL", libc::SIGILL),
    ("SIGTRAP", libc::SIGTRAP),
    ("SIGABRT", libc::SIGABRT),
    ("SIGIOT", libc::SIGIOT),
    ("SIGBUS", libc::SIGBUS),
    ("SIGFPE", libc::SIGFPE),
    ("SIGKILL", libc::SIGKILL),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGSEGV", libc::SIGSEGV),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGPIPE", libc::SIGPIPE),
    ("SIGALRM", libc::SIGALRM),
    ("SIGTERM", libc::SIGTERM),
    ("SIGSTKFLT", libc::SIGSTKFLT),
    ("SIGCHLD", libc::SIGCHLD),
    ("SIGCLD", libc::SIGCHLD),
    ("SIGCONT", libc::SIGCONT),
    ("SIGSTOP", libc::SIGSTOP),
    ("SIGTSTP", libc::SIGTSTP),
    ("SIGTTIN", libc::SIGTTIN),
    ("SIGTTOU", libc::SIGTTOU),
    ("SIGURG", libc::SIGURG),
    ("SIGXCPU", libc::SIGXCPU),
    ("SIGXFSZ", libc::SIGXFSZ),
    ("SIGVTALRM", libc::SIGVTALRM),
    ("SIGPROF", libc::SIGPROF),
    ("SIGWINCH", libc::SIGWINCH),
    ("SIGIO", libc::SIGIO),
    ("SIGPOLL", libc::SIGPOLL),
    ("SIGPWR", libc::SIGPWR),
    ("SIGSYS", libc::SIGSYS),
];

/// Parse a signal as runc does: a number, or a name with or without "SIG",
/// in any case. Real-time signals may be given as "RTMIN+n".
pub fn parse(raw: &str) -> Result<i32> {
    if let Ok(n) = raw.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err(Error::InvalidSignal(raw.to_string()));
    }
    let upper = raw.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    if let Some((_, n)) = NAMES.iter().find(|(s, _)| *s == name) {
        return Ok(*n);
    }
    if let Some(rest) = name.strip_prefix("SIGRTMIN") {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('+')
                .and_then(|r| r.parse().ok())
                .unwrap_or(-1)
        };
        let n = libc::SIGRTMIN() + off;
        if off >= 0 && n <= libc::SIGRTMAX() {
            return Ok(n);
        }
    }
    Err(Error::InvalidSignal(raw.to_string()))
}

pub fn name(sig: i32) -> String {
    NAMES
        .iter()
        .find(|(_, n)| *n == sig)
        .map(|(s, _)| s.to_string())
        .unwrap_or_else(|| format!("signal {sig}"))
}

/// Block every signal a foreground run forwards (plus SIGCHLD) and return a
/// signalfd that receives them. Children reset their mask before execve.
pub fn block_for_forwarding() -> nix::Result<SignalFd> {
    let mut set = SigSet::empty();
    for (_, n) in NAMES {
        if *n != libc::SIGKILL
            && *n != libc::SIGSTOP
            && *n != libc::SIGSEGV
            && *n != libc::SIGBUS
            && *n != libc::SIGILL
            && *n != libc::SIGFPE
        {
            if let Ok(s) = Signal::try_from(*n) {
                set.add(s);
            }
        }
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_runc() {
        assert_eq!(parse("9").ok(), Some(9));
        assert_eq!(parse("KILL").ok(), Some(9));
        assert_eq!(parse("SIGKILL").ok(), Some(9));
        assert_eq!(parse("sigterm").ok(), Some(15));
        assert_eq!(parse("hup").ok(), Some(1));
        assert_eq!(parse("RTMIN+1").ok(), Some(libc::SIGRTMIN() + 1));
        assert!(parse("NOPE").is_err());
        assert!(parse("0").is_err());
        assert_eq!(name(15), "SIGTERM");
    }
}
