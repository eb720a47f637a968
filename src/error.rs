//! The crate error and its one convention (docs/errors.md): every error says
//! which step failed and why, in lower case; the command layer prefixes the
//! operation and the container id once; main prints the chain once.

use std::fmt;

use nix::errno::Errno;

use crate::cgroups::CgroupError;
use crate::spec::SpecError;
use crate::state::Status;

/// An errno shown the way runc (Go) shows it: "operation not permitted".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause(pub Errno);

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let desc = self.0.desc();
        let mut chars = desc.chars();
        match chars.next() {
            Some(first) => write!(f, "{}{}", first.to_lowercase(), chars.as_str()),
            None => write!(f, "errno {}", self.0 as i32),
        }
    }
}

impl std::error::Error for Cause {}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // Lifecycle errors, in runc's words (callers such as containerd match on them).
    #[error("container does not exist")]
    NotExist,
    #[error("container with given ID already exists")]
    AlreadyExists,
    #[error("container not running")]
    NotRunning,
    #[error("container still running")]
    StillRunning,
    #[error("cannot delete container {id} that is not stopped: {status}")]
    NotStopped { id: String, status: Status },
    #[error("cannot start a container that has {status}, {hint}")]
    CannotStart { status: Status, hint: &'static str },
    #[error("container is paused")]
    Paused,
    #[error("container is not paused")]
    NotPaused,
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId { id: String, reason: &'static str },
    #[error("invalid signal {0:?}")]
    InvalidSignal(String),

    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),

    /// A system call failed: `step` names what we were doing.
    #[error("{step}: {cause}")]
    Sys { step: String, cause: Cause },
    /// An I/O operation failed.
    #[error("{step}: {}", io_text(.source))]
    Io {
        step: String,
        #[source]
        source: std::io::Error,
    },
    /// The container's init reported an error (its text names the step).
    #[error("{0}")]
    Init(String),
    /// A hook failed.
    #[error("{0}")]
    Hook(String),
    /// Anything else, already worded.
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn sys(step: impl Into<String>, errno: Errno) -> Self {
        Error::Sys {
            step: step.into(),
            cause: Cause(errno),
        }
    }

    pub fn io(step: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            step: step.into(),
            source,
        }
    }
}

/// Attach a step to a nix result: `mkdir(...).step(|| format!("..."))?`.
pub trait SysContext<T> {
    fn step<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T>;
}

impl<T> SysContext<T> for nix::Result<T> {
    fn step<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::sys(f(), e))
    }
}

impl<T> SysContext<T> for std::io::Result<T> {
    fn step<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::io(f(), e))
    }
}

/// Go-style text for an I/O error ("no such file or directory").
pub fn io_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => Cause(Errno::from_raw(n)).to_string(),
        None => e.to_string(),
    }
}

/// An error in the container's init (or any child): the step and the errno.
/// It crosses the sync socket as (errno, text) and becomes `Error::Init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub step: String,
    pub errno: Errno,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errno == Errno::UnknownErrno {
            write!(f, "{}", self.step)
        } else {
            write!(f, "{}: {}", self.step, Cause(self.errno))
        }
    }
}

impl std::error::Error for StepError {}

impl StepError {
    pub fn new(step: impl Into<String>, errno: Errno) -> Self {
        StepError {
            step: step.into(),
            errno,
        }
    }

    /// An error with no errno: the text says it all.
    pub fn msg(step: impl Into<String>) -> Self {
        StepError::new(step, Errno::UnknownErrno)
    }
}

/// Attach a step to a nix result in the child: `mkdir(...).at(|| "...")?`.
pub trait AtStep<T> {
    fn at<S: Into<String>>(self, f: impl FnOnce() -> S) -> std::result::Result<T, StepError>;
}

impl<T> AtStep<T> for nix::Result<T> {
    fn at<S: Into<String>>(self, f: impl FnOnce() -> S) -> std::result::Result<T, StepError> {
        self.map_err(|e| StepError::new(f(), e))
    }
}

impl<T> AtStep<T> for std::io::Result<T> {
    fn at<S: Into<String>>(self, f: impl FnOnce() -> S) -> std::result::Result<T, StepError> {
        self.map_err(|e| StepError::new(f(), e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)))
    }
}
