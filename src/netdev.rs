//! linux.netDevices: host network interfaces moved into the container's new
//! network namespace (renamed as asked, "%d" templates allowed), brought up,
//! with their permanent global addresses preserved. The parent does it,
//! before the init continues: moving needs the host's privileges. Nothing is
//! moved back at delete (a physical device returns to the host when the
//! namespace dies; a virtual one dies with it).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;

use crate::error::{Error, Result, SysContext};
use crate::netlink::{index_of, Netlink};
use crate::spec::SpecError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDevice {
    /// The interface's name on the host.
    pub host: String,
    /// Its name in the container (may be a "%d" template).
    pub name: String,
}

pub fn lower(
    devices: &BTreeMap<String, Option<String>>,
    new_netns: bool,
) -> std::result::Result<Vec<NetDevice>, SpecError> {
    if devices.is_empty() {
        return Ok(Vec::new());
    }
    if !new_netns {
        return Err(SpecError::invalid(
            "linux.netDevices",
            "needs a new network namespace",
        ));
    }
    let mut out = Vec::new();
    for (host, name) in devices {
        let field = format!("linux.netDevices[{host:?}]");
        let name = name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| host.clone());
        if name.len() > 15 || name.contains('/') || name.contains(char::is_whitespace) {
            return Err(SpecError::invalid(
                format!("{field}.name"),
                format!("{name:?} is not a valid interface name"),
            ));
        }
        if index_of(host).is_none() {
            return Err(SpecError::invalid(
                field,
                "no such network device on the host",
            ));
        }
        out.push(NetDevice {
            host: host.clone(),
            name,
        });
    }
    Ok(out)
}

fn open_ns(path: &str) -> Result<OwnedFd> {
    nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .step(|| format!("open {path}"))
}

/// Move every device into the network namespace of process `pid`.
pub fn move_all(devices: &[NetDevice], pid: i32) -> Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    let target = open_ns(&format!("/proc/{pid}/ns/net"))?;
    let home = open_ns("/proc/self/ns/net")?;
    let mut nl = Netlink::open().step(|| "open netlink")?;
    let mut moved = Vec::new();
    for d in devices {
        let index = index_of(&d.host).ok_or_else(|| {
            Error::Other(format!("network device {}: not found on the host", d.host))
        })?;
        let addrs = nl
            .permanent_addrs(index)
            .step(|| format!("list the addresses of {}", d.host))?;
        nl.move_link(index, &target, &d.name).map_err(|e| match e {
            nix::errno::Errno::EEXIST => Error::Other(format!(
                "network device {}: {} already exists in the container",
                d.host, d.name
            )),
            e => Error::sys(
                format!(
                    "move network device {} into the container as {}",
                    d.host, d.name
                ),
                e,
            ),
        })?;
        moved.push((d, index, addrs));
    }
    // Up and addresses, from inside the container's namespace; always back home.
    nix::sched::setns(target.as_fd(), CloneFlags::CLONE_NEWNET)
        .step(|| "enter the container's network namespace")?;
    let inside = configure(&moved);
    nix::sched::setns(home.as_fd(), CloneFlags::CLONE_NEWNET)
        .step(|| "return to the host's network namespace")?;
    inside
}

fn configure(moved: &[(&NetDevice, i32, Vec<crate::netlink::Addr>)]) -> Result<()> {
    let mut nl = Netlink::open().step(|| "open netlink in the container")?;
    for (d, old_index, addrs) in moved {
        // The index survives the move unless the new namespace had it taken.
        let index = nl
            .link_name(*old_index)
            .ok()
            .map(|_| *old_index)
            .or_else(|| index_of(&d.name))
            .ok_or_else(|| {
                Error::Other(format!("network device {}: lost after the move", d.host))
            })?;
        for a in addrs {
            nl.add_addr(index, a)
                .step(|| format!("restore an address of {}", d.name))?;
        }
        nl.set_up(index).step(|| format!("set {} up", d.name))?;
    }
    Ok(())
}
