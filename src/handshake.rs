//! The start handshake: `exec.sock`, a unix socket in the state directory.
//! `create` binds and listens on it before the clone, so the init holds the
//! listening socket from its first instant (a `start` right after `create`
//! is queued, never lost). After Ready the init blocks in accept(). `start`
//! connects (ECONNREFUSED: the init is gone, a clear error rather than a
//! hang) and sends `S`; the init runs the startContainer hooks and answers
//! `O` (then executes the program; the connection is close-on-exec, so
//! `start` sees end-of-file exactly when the program runs) or `E` and the
//! error text (then exits). `state` says created while exec.sock exists.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{AtStep, Error, Result, StepError, SysContext};

pub const SOCKET_NAME: &str = "exec.sock";
const START: u8 = b'S';
const OK: u8 = b'O';
const FAILED: u8 = b'E';

/// A path to `name` in `dir` short enough for sun_path, whatever the length
/// of `dir`: through /proc/self/fd of a descriptor of the directory.
fn short_path(dir: &Path, name: &str) -> Result<(OwnedFd, String)> {
    let fd = nix::fcntl::open(
        dir,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .step(|| format!("open {}", dir.display()))?;
    let path = format!("/proc/self/fd/{}/{name}", fd.as_raw_fd());
    Ok((fd, path))
}

/// Bind and listen (create). Only root may connect (mode 0600).
pub fn listen(dir: &Path) -> Result<OwnedFd> {
    let (_dirfd, path) = short_path(dir, SOCKET_NAME)?;
    let old = nix::sys::stat::umask(Mode::from_bits_truncate(0o177));
    let listener = UnixListener::bind(&path);
    nix::sys::stat::umask(old);
    let listener = listener.step(|| format!("listen on {}", dir.join(SOCKET_NAME).display()))?;
    Ok(OwnedFd::from(listener))
}

/// What `start` learns from the init.
pub enum Started {
    /// The init is about to execute the program; the stream ends when it does.
    Ok(UnixStream),
    /// A startContainer hook failed: the init exits.
    Failed(String),
}

/// Ask the init to start (the `start` command).
pub fn request_start(dir: &Path) -> Result<Started> {
    let (_dirfd, path) = short_path(dir, SOCKET_NAME)?;
    let mut stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ECONNREFUSED) | Some(libc::ENOENT)
            ) =>
        {
            return Err(Error::Other(
                "cannot start container: its init process has exited".into(),
            ));
        }
        Err(e) => return Err(Error::io("connect to the container's init", e)),
    };
    stream
        .write_all(&[START])
        .step(|| "send start to the container's init")?;
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(1) if byte[0] == OK => return Ok(Started::Ok(stream)),
        Ok(1) if byte[0] == FAILED => {
            let _ = stream.read_to_end(&mut answer);
            return Ok(Started::Failed(
                String::from_utf8_lossy(&answer).into_owned(),
            ));
        }
        _ => {}
    }
    Ok(Started::Failed(
        "the container's init exited before starting the program".into(),
    ))
}

/// Wait for `start` (the init, after Ready). Returns the connection, to be
/// answered with `answer_ok` or `answer_failed`.
pub fn wait_for_start(listener: &OwnedFd) -> std::result::Result<UnixStream, StepError> {
    let fd = crate::sys::dup_above(listener.as_fd(), 3).at(|| "dup the start socket")?;
    let listener = UnixListener::from(fd);
    loop {
        let (mut conn, _) = listener.accept().at(|| "wait for start")?;
        let mut req = [0u8; 1];
        if conn.read_exact(&mut req).is_ok() && req[0] == START {
            return Ok(conn);
        }
    }
}

pub fn answer_ok(conn: &mut UnixStream) {
    let _ = conn.write_all(&[OK]);
}

pub fn answer_failed(conn: &mut UnixStream, msg: &str) {
    let mut out = vec![FAILED];
    out.extend_from_slice(msg.as_bytes());
    let _ = conn.write_all(&out);
}

/// `start`: wait until the init executed the program (end of file) or died.
pub fn wait_exec(mut stream: UnixStream) {
    let mut buf = [0u8; 64];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}
