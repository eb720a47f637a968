//! rrun: an OCI runtime-spec container runtime, a drop-in replacement for
//! runc. See docs/design.md for the shape and the process-staging protocol.

pub mod caps;
pub mod cgroups;
pub mod cli;
pub mod clock;
pub mod container;
pub mod error;
pub mod features;
pub mod handshake;
pub mod hooks;
pub mod logging;
pub mod lsm;
pub mod namespaces;
pub mod netdev;
pub mod netlink;
pub mod proc_files;
pub mod process;
pub mod reexec;
pub mod rootfs;
pub mod seccomp;
pub mod signals;
pub mod spec;
pub mod state;
pub mod sys;
pub mod testpoint;
pub mod tty;
pub mod userns;

/// The runtime-spec version rrun implements.
pub const OCI_VERSION: &str = "1.3.0";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("RRUN_COMMIT");
