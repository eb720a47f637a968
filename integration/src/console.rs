//! A --console-socket receiver, as containerd's shim is: listen on a unix
//! socket, accept one connection, take the pty master from SCM_RIGHTS.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::thread::JoinHandle;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

pub struct ConsoleSocket {
    pub path: PathBuf,
    handle: Option<JoinHandle<Option<OwnedFd>>>,
}

impl ConsoleSocket {
    pub fn new(tag: &str) -> ConsoleSocket {
        let path = crate::env()
            .scratch
            .join(format!("{}.sock", crate::unique_id(tag)));
        let listener = UnixListener::bind(&path).expect("bind console socket");
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().ok()?;
            let mut buf = [0u8; 4096];
            let mut cmsg = nix::cmsg_space!([RawFd; 1]);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = recvmsg::<()>(
                stream.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::empty(),
            )
            .ok()?;
            for c in msg.cmsgs().ok()? {
                if let ControlMessageOwned::ScmRights(fds) = c {
                    // SAFETY: the kernel installed this descriptor for us.
                    return fds.first().map(|fd| unsafe { OwnedFd::from_raw_fd(*fd) });
                }
            }
            None
        });
        ConsoleSocket {
            path,
            handle: Some(handle),
        }
    }

    /// The pty master the runtime sent (None if it sent nothing).
    pub fn master(&mut self) -> Option<OwnedFd> {
        self.handle.take()?.join().ok()?
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Read what is available on a pty master within `ms` milliseconds.
pub fn read_for(fd: &OwnedFd, ms: u64) -> String {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    while std::time::Instant::now() < deadline {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(50u8)).unwrap_or(0) <= 0 {
            if !out.is_empty() {
                break;
            }
            continue;
        }
        let mut buf = [0u8; 4096];
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
