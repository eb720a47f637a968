//! The sync socket between rrun and the process it sets up: one
//! SOCK_SEQPACKET socketpair, one packet per message, a tag byte and a small
//! payload. Only Error and Log carry text (bounded); Pty carries a descriptor.
//!
//! | child -> parent     | parent -> child | when                                   |
//! |---------------------|-----------------|----------------------------------------|
//! | RequestIdMap        | IdMapDone       | staged spawn with a new user namespace |
//! | InitPid(pid)        |                 | staged spawn: the forked init's pid     |
//! |                     | Continue        | init placed in its cgroups, maps written|
//! | MountsDone          | HooksDone(json) | when there are hooks around the mounts  |
//! | Pty + fd            |                 | terminal: the pty master                |
//! | SeccompFd + fd      |                 | SCMP_ACT_NOTIFY: the listener           |
//! | Ready               |                 | setup done (from the start trampoline when there is one) |
//! |                     | Start           | `run` only: release (create: exec.fifo) |
//! | Log(level, text)    |                 | anywhere                                |
//! | Error(errno, text)  |                 | anywhere; the child exits after it      |
//!
//! The parent computes the list it expects from the plan and accepts nothing
//! else (Log and Error excepted): see `process::parent`.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};

/// Longest text an Error or Log message carries.
const MAX_TEXT: usize = 4000;
const BUF: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    RequestIdMap,
    IdMapDone,
    InitPid(i32),
    Continue,
    MountsDone,
    /// Carries the state JSON for the hooks the child runs.
    HooksDone(String),
    Pty,
    Ready,
    /// `run`: state is saved, run the program (create waits on exec.fifo).
    Start,
    /// The seccomp notification listener (with SCM_RIGHTS).
    SeccompFd,
    Log(u8, String),
    Error(i32, String),
}

impl Msg {
    /// The first byte of the packet: all of it for a message without payload
    /// (the start trampoline sends Ready as this one byte).
    pub fn tag(&self) -> u8 {
        match self {
            Msg::RequestIdMap => 1,
            Msg::IdMapDone => 2,
            Msg::InitPid(_) => 3,
            Msg::Continue => 4,
            Msg::MountsDone => 5,
            Msg::HooksDone(_) => 6,
            Msg::Pty => 7,
            Msg::Ready => 8,
            Msg::Log(..) => 9,
            Msg::Error(..) => 10,
            Msg::Start => 11,
            Msg::SeccompFd => 12,
        }
    }

    /// The message's name, for protocol errors.
    pub fn name(&self) -> &'static str {
        match self {
            Msg::RequestIdMap => "RequestIdMap",
            Msg::IdMapDone => "IdMapDone",
            Msg::InitPid(_) => "InitPid",
            Msg::Continue => "Continue",
            Msg::MountsDone => "MountsDone",
            Msg::HooksDone(_) => "HooksDone",
            Msg::Pty => "Pty",
            Msg::Ready => "Ready",
            Msg::Log(..) => "Log",
            Msg::Error(..) => "Error",
            Msg::Start => "Start",
            Msg::SeccompFd => "SeccompFd",
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.tag()];
        match self {
            Msg::InitPid(pid) => out.extend_from_slice(&pid.to_le_bytes()),
            Msg::HooksDone(json) => out.extend_from_slice(json.as_bytes()),
            Msg::Log(level, text) => {
                out.push(*level);
                out.extend_from_slice(bounded(text));
            }
            Msg::Error(errno, text) => {
                out.extend_from_slice(&errno.to_le_bytes());
                out.extend_from_slice(bounded(text));
            }
            _ => {}
        }
        out
    }

    fn decode(b: &[u8]) -> Option<Msg> {
        let (&tag, rest) = b.split_first()?;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let int = |b: &[u8]| Some(i32::from_le_bytes(b.get(..4)?.try_into().ok()?));
        Some(match tag {
            1 => Msg::RequestIdMap,
            2 => Msg::IdMapDone,
            3 => Msg::InitPid(int(rest)?),
            4 => Msg::Continue,
            5 => Msg::MountsDone,
            6 => Msg::HooksDone(text(rest)),
            7 => Msg::Pty,
            8 => Msg::Ready,
            9 => Msg::Log(*rest.first()?, text(rest.get(1..)?)),
            10 => Msg::Error(int(rest)?, text(rest.get(4..)?)),
            11 => Msg::Start,
            12 => Msg::SeccompFd,
            _ => return None,
        })
    }
}

fn bounded(text: &str) -> &[u8] {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text.as_bytes()[..end]
}

/// One end of the sync socket.
#[derive(Debug)]
pub struct SyncSocket(OwnedFd);

/// Create the pair: (parent end, child end), both close-on-exec.
pub fn pair() -> nix::Result<(SyncSocket, SyncSocket)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((SyncSocket(a), SyncSocket(b)))
}

impl SyncSocket {
    pub fn from_fd(fd: OwnedFd) -> Self {
        SyncSocket(fd)
    }

    pub fn into_fd(self) -> OwnedFd {
        self.0
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }

    pub fn send(&self, msg: &Msg) -> nix::Result<()> {
        self.send_with_fd(msg, None)
    }

    pub fn send_with_fd(&self, msg: &Msg, fd: Option<BorrowedFd<'_>>) -> nix::Result<()> {
        let data = msg.encode();
        let iov = [IoSlice::new(&data)];
        let fds: Vec<RawFd> = fd.iter().map(|f| f.as_raw_fd()).collect();
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
        loop {
            match sendmsg::<()>(
                self.0.as_raw_fd(),
                &iov,
                cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
                Ok(_) => return Ok(()),
            }
        }
    }

    /// Receive one message (None at end of file) and any descriptor with it.
    pub fn recv(&self) -> nix::Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; BUF];
        let mut cmsg = nix::cmsg_space!([RawFd; 2]);
        let (len, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.0.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
                Ok(r) => {
                    let mut fd = None;
                    for c in r.cmsgs()? {
                        if let ControlMessageOwned::ScmRights(list) = c {
                            for raw in list {
                                // SAFETY: the kernel installed this descriptor for us.
                                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                                fd.get_or_insert(owned);
                            }
                        }
                    }
                    break (r.bytes, fd);
                }
            }
        };
        if len == 0 {
            return Ok(None);
        }
        Msg::decode(&buf[..len])
            .map(|m| Some((m, fd)))
            .ok_or(Errno::EBADMSG)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_message() {
        let (a, b) = pair().expect("socketpair");
        let msgs = [
            Msg::RequestIdMap,
            Msg::InitPid(4242),
            Msg::HooksDone("{\"id\":\"x\"}".into()),
            Msg::Log(2, "hello".into()),
            Msg::Error(13, "mount \"proc\" on /proc".into()),
            Msg::Ready,
        ];
        for m in &msgs {
            a.send(m).expect("send");
            let (got, fd) = b.recv().expect("recv").expect("not eof");
            assert_eq!(&got, m);
            assert!(fd.is_none());
        }
        drop(a);
        assert!(
            b.recv().expect("recv").is_none(),
            "eof after the peer closes"
        );
    }

    #[test]
    fn passes_a_descriptor() {
        let (a, b) = pair().expect("socketpair");
        let file = std::fs::File::open("/proc/self/status").expect("open");
        a.send_with_fd(&Msg::Pty, Some(file.as_fd())).expect("send");
        let (m, fd) = b.recv().expect("recv").expect("msg");
        assert_eq!(m, Msg::Pty);
        assert!(fd.is_some());
    }

    #[test]
    fn text_is_bounded() {
        let long = "é".repeat(5000);
        assert!(bounded(&long).len() <= MAX_TEXT);
        assert!(std::str::from_utf8(bounded(&long)).is_ok());
    }
}
