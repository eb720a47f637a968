//! Processes rrun starts inside a container: the plan of the process, the
//! sync protocol, the parent's spawn-and-drive, the child's init recipe, and
//! its terminal.

pub mod console;
pub mod exec;
pub mod finish;
pub mod init;
pub mod plan;
pub mod spawn;
pub mod sync;
pub mod trampoline;

use std::os::fd::OwnedFd;

/// How the init hands over to the container's program once it is set up
/// (docs/design.md, "The start trampoline" and "Immediate start").
pub enum Handover {
    /// It waits for start as rrun (re-executed from a read-only binary
    /// where the CVE-2019-5736 protection needs it).
    WaitInRrun,
    /// It becomes the sealed start trampoline (`fd`), which waits for
    /// start (`create`), or with `immediate` executes the program right
    /// after Ready (`run` without a terminal).
    Trampoline { fd: OwnedFd, immediate: bool },
}
