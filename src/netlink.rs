//! A minimal rtnetlink client for linux.netDevices: find a link, list its
//! addresses, move (and rename) it into another network namespace, set it
//! up, add addresses. Requests are built by hand (a few structs and
//! attributes); every request is acknowledged or fails with the kernel's errno.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
const RT_SCOPE_UNIVERSE: u8 = 0;

/// An address of a link, as RTM_GETADDR reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub family: u8,
    pub prefixlen: u8,
    pub scope: u8,
    pub flags: u32,
    pub local: Vec<u8>,
    pub address: Vec<u8>,
}

pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

fn push_attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(align(buf.len()), 0);
}

/// ifinfomsg: family, pad, type, index, flags, change.
fn ifinfo(index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// Walk the attributes in `data`: (type, payload).
fn attrs(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let kind = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            break;
        }
        out.push((kind, &data[4..len]));
        data = &data[align(len).min(data.len())..];
    }
    out
}

impl Netlink {
    /// A route netlink socket in the current network namespace.
    pub fn open() -> nix::Result<Netlink> {
        Ok(Netlink {
            fd: crate::sys::netlink_route_socket()?,
            seq: 1,
        })
    }

    fn send(&mut self, kind: u16, flags: u16, payload: &[u8]) -> nix::Result<u32> {
        self.seq += 1;
        let mut msg = Vec::with_capacity(16 + payload.len());
        msg.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(payload);
        let n = nix::unistd::write(&self.fd, &msg)?;
        if n != msg.len() {
            return Err(Errno::EIO);
        }
        Ok(self.seq)
    }

    /// Read replies to `seq` until the ack (or the end of a dump); returns
    /// the payloads of the data messages.
    fn replies(&mut self, seq: u32) -> nix::Result<Vec<(u16, Vec<u8>)>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = nix::unistd::read(&self.fd, &mut buf)?;
            let mut rest = &buf[..n];
            while rest.len() >= 16 {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                let mseq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
                if len < 16 || len > rest.len() {
                    return Err(Errno::EBADMSG);
                }
                let body = &rest[16..len];
                if mseq == seq {
                    match kind {
                        NLMSG_ERROR => {
                            let code = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
                            return if code == 0 {
                                Ok(out)
                            } else {
                                Err(Errno::from_raw(-code))
                            };
                        }
                        NLMSG_DONE => return Ok(out),
                        k => out.push((k, body.to_vec())),
                    }
                }
                rest = &rest[align(len).min(rest.len())..];
            }
        }
    }

    fn request(
        &mut self,
        kind: u16,
        flags: u16,
        payload: &[u8],
    ) -> nix::Result<Vec<(u16, Vec<u8>)>> {
        let seq = self.send(kind, flags | NLM_F_ACK, payload)?;
        self.replies(seq)
    }

    /// The addresses of link `index` that must survive a move: permanent,
    /// global scope, any family.
    pub fn permanent_addrs(&mut self, index: i32) -> nix::Result<Vec<Addr>> {
        let req = [0u8; 8]; // ifaddrmsg, family AF_UNSPEC: every family
        let seq = self.send(RTM_GETADDR, NLM_F_DUMP, &req)?;
        let mut out = Vec::new();
        for (_, body) in self.replies(seq)? {
            if body.len() < 8 || i32::from_ne_bytes([body[4], body[5], body[6], body[7]]) != index {
                continue;
            }
            let mut a = Addr {
                family: body[0],
                prefixlen: body[1],
                flags: u32::from(body[2]),
                scope: body[3],
                local: Vec::new(),
                address: Vec::new(),
            };
            for (kind, data) in attrs(&body[8..]) {
                match kind {
                    IFA_LOCAL => a.local = data.to_vec(),
                    IFA_ADDRESS => a.address = data.to_vec(),
                    IFA_FLAGS if data.len() >= 4 => {
                        a.flags = u32::from_ne_bytes([data[0], data[1], data[2], data[3]])
                    }
                    _ => {}
                }
            }
            if a.scope == RT_SCOPE_UNIVERSE && a.flags & IFA_F_PERMANENT != 0 {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Move link `index` into the namespace `netns_fd`, renamed to `name`.
    pub fn move_link(&mut self, index: i32, netns_fd: &OwnedFd, name: &str) -> nix::Result<()> {
        let mut p = ifinfo(index, 0, 0);
        push_attr(
            &mut p,
            IFLA_NET_NS_FD,
            &(netns_fd.as_raw_fd() as u32).to_ne_bytes(),
        );
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        push_attr(&mut p, IFLA_IFNAME, &n);
        self.request(RTM_NEWLINK, 0, &p).map(drop)
    }

    /// The name of link `index` (in this namespace).
    pub fn link_name(&mut self, index: i32) -> nix::Result<String> {
        let p = ifinfo(index, 0, 0);
        let replies = self.request(RTM_GETLINK, 0, &p)?;
        for (_, body) in replies {
            if body.len() < 16 {
                continue;
            }
            for (kind, data) in attrs(&body[16..]) {
                if kind == IFLA_IFNAME {
                    let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
                    return Ok(String::from_utf8_lossy(&data[..end]).into_owned());
                }
            }
        }
        Err(Errno::ENODEV)
    }

    pub fn set_up(&mut self, index: i32) -> nix::Result<()> {
        let up = libc::IFF_UP as u32;
        self.request(RTM_NEWLINK, 0, &ifinfo(index, up, up))
            .map(drop)
    }

    pub fn add_addr(&mut self, index: i32, a: &Addr) -> nix::Result<()> {
        let mut p = vec![a.family, a.prefixlen, (a.flags & 0xff) as u8, a.scope];
        p.extend_from_slice(&index.to_ne_bytes());
        if !a.local.is_empty() {
            push_attr(&mut p, IFA_LOCAL, &a.local);
        }
        if !a.address.is_empty() {
            push_attr(&mut p, IFA_ADDRESS, &a.address);
        }
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &p)
            .map(drop)
    }
}

/// The index of a link by name in the current namespace.
pub fn index_of(name: &str) -> Option<i32> {
    let c = std::ffi::CString::new(name).ok()?;
    crate::sys::if_nametoindex(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip() {
        let mut b = Vec::new();
        push_attr(&mut b, IFLA_IFNAME, b"eth0\0");
        push_attr(&mut b, IFLA_NET_NS_FD, &7u32.to_ne_bytes());
        let parsed = attrs(&b);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0], (IFLA_IFNAME, &b"eth0\0"[..]));
        assert_eq!(parsed[1].1, &7u32.to_ne_bytes()[..]);
    }

    #[test]
    fn lists_loopback_addresses() {
        let mut nl = Netlink::open().expect("netlink");
        let lo = index_of("lo").expect("lo");
        // lo's addresses are host scope: none is "global permanent".
        let addrs = nl.permanent_addrs(lo).expect("dump");
        assert!(addrs.iter().all(|a| a.scope == RT_SCOPE_UNIVERSE));
        assert_eq!(nl.link_name(lo).expect("name"), "lo");
    }
}
