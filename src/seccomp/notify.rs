//! SCMP_ACT_NOTIFY: the listener descriptor the kernel gives the init is sent
//! to linux.seccomp.listenerPath with the container state, as runc sends it:
//! one SCM_RIGHTS message whose payload is the JSON
//! {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"}.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use serde_json::json;

use crate::error::{Error, Result, SysContext};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: String,
}

impl Listener {
    /// Send the listener fd with the container's state (a JSON value).
    pub fn send(&self, fd: BorrowedFd<'_>, pid: i32, state: serde_json::Value) -> Result<()> {
        let msg = json!({
            "ociVersion": crate::OCI_VERSION,
            "fds": ["seccompFd"],
            "pid": pid,
            "metadata": self.metadata,
            "state": state,
        })
        .to_string();
        let stream = UnixStream::connect(&self.path)
            .step(|| format!("connect to seccomp listener {}", self.path.display()))?;
        let fds = [fd.as_raw_fd()];
        sendmsg::<()>(
            stream.as_raw_fd(),
            &[IoSlice::new(msg.as_bytes())],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .map_err(|e| Error::sys(format!("send the seccomp fd to {}", self.path.display()), e))?;
        Ok(())
    }
}
