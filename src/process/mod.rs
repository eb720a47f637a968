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
