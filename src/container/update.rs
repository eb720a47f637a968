//! `update ID`: change a running container's resources, from --resources
//! (a JSON linux.resources object, "-" for stdin, as containerd sends it) and
//! runc's individual flags, applied to its cgroups as create applies them.

use std::io::Read;
use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;
use serde_json::{json, Value};

use super::{load_shared, Globals};
use crate::cgroups::resources::ResourcesPlan;
use crate::error::{Error, Result, SysContext};
use crate::state::Status;

/// runc's update flags (None: leave as is).
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    pub resources: Option<PathBuf>,
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub memory_swap: Option<String>,
    pub kernel_memory: Option<String>,
    pub kernel_memory_tcp: Option<String>,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_burst: Option<u64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpu_idle: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
}

/// A size as runc takes it: bytes, or with k/m/g/t/p (optionally "b"),
/// binary multiples; -1 is unlimited.
pub fn parse_bytes(s: &str) -> Result<i64> {
    let bad = || Error::Other(format!("invalid size {s:?}"));
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (digits, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('p') => (&t[..t.len() - 1], 1 << 50),
        _ => (t, 1),
    };
    let n: f64 = digits.trim().parse().map_err(|_| bad())?;
    if n < 0.0 {
        return Err(bad());
    }
    Ok((n * mult as f64) as i64)
}

fn read_resources(path: &PathBuf) -> Result<Value> {
    let mut text = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut text)
            .step(|| "read resources from stdin")?;
    } else {
        text = std::fs::read(path).step(|| format!("read {}", path.display()))?;
    }
    serde_json::from_slice(&text).map_err(|e| Error::Other(format!("parse resources: {e}")))
}

/// The resources to apply: the file (if any), then the flags over it.
fn merged(o: &UpdateOptions) -> Result<LinuxResources> {
    let mut r = match &o.resources {
        Some(p) => read_resources(p)?,
        None => json!({}),
    };
    let mut set = |ptr: &str, v: Value| {
        let (obj, key) = ptr.split_once('/').unwrap_or(("", ptr));
        if r.get(obj).is_none() {
            r[obj] = json!({});
        }
        r[obj][key] = v;
    };
    let sizes = [
        ("memory/limit", &o.memory),
        ("memory/reservation", &o.memory_reservation),
        ("memory/swap", &o.memory_swap),
        ("memory/kernel", &o.kernel_memory),
        ("memory/kernelTCP", &o.kernel_memory_tcp),
    ];
    for (ptr, v) in sizes {
        if let Some(v) = v {
            set(ptr, json!(parse_bytes(v)?));
        }
    }
    let nums: [(&str, Option<Value>); 11] = [
        ("cpu/shares", o.cpu_shares.map(|v| json!(v))),
        ("cpu/period", o.cpu_period.map(|v| json!(v))),
        ("cpu/quota", o.cpu_quota.map(|v| json!(v))),
        ("cpu/burst", o.cpu_burst.map(|v| json!(v))),
        ("cpu/realtimePeriod", o.cpu_rt_period.map(|v| json!(v))),
        ("cpu/realtimeRuntime", o.cpu_rt_runtime.map(|v| json!(v))),
        ("cpu/idle", o.cpu_idle.map(|v| json!(v))),
        ("cpu/cpus", o.cpuset_cpus.clone().map(Value::String)),
        ("cpu/mems", o.cpuset_mems.clone().map(Value::String)),
        ("pids/limit", o.pids_limit.map(|v| json!(v))),
        ("blockIO/weight", o.blkio_weight.map(|v| json!(v))),
    ];
    for (ptr, v) in nums {
        if let Some(v) = v {
            set(ptr, v);
        }
    }
    serde_path_to_error::deserialize(r)
        .map_err(|e| Error::Other(format!("resources.{}: {}", e.path(), e.inner())))
}

pub fn update(g: &Globals, id: &str, o: &UpdateOptions) -> Result<()> {
    let (_dir, st, status) = load_shared(g, id)?;
    if status == Status::Stopped {
        return Err(Error::NotRunning);
    }
    let resources = merged(o)?;
    // Device rules are replaced only when given; defaults ride along then.
    let with_devices = resources.devices().is_some();
    let plan = ResourcesPlan::lower(&resources, with_devices)?;
    if plan.check_before_update {
        check_memory_usage(&st.cgroup, &resources)?;
    }
    Ok(st.cgroup.apply(&plan)?)
}

/// memory.checkBeforeUpdate: a limit below current usage is refused.
fn check_memory_usage(cg: &crate::cgroups::Cgroup, r: &LinuxResources) -> Result<()> {
    let Some(limit) = r
        .memory()
        .as_ref()
        .and_then(|m| m.limit())
        .filter(|l| *l > 0)
    else {
        return Ok(());
    };
    let usage = cg.stats().memory.usage.usage;
    if usage > limit as u64 {
        return Err(Error::Other(format!(
            "cannot set memory limit to {limit}: the container already uses {usage} bytes (checkBeforeUpdate)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_runc_reads_them() {
        assert_eq!(parse_bytes("100").ok(), Some(100));
        assert_eq!(parse_bytes("1k").ok(), Some(1024));
        assert_eq!(parse_bytes("64M").ok(), Some(64 << 20));
        assert_eq!(parse_bytes("2gb").ok(), Some(2 << 30));
        assert_eq!(parse_bytes("-1").ok(), Some(-1));
        assert!(parse_bytes("x").is_err());
    }

    #[test]
    fn flags_override_the_file() {
        let o = UpdateOptions {
            memory: Some("10m".into()),
            pids_limit: Some(7),
            cpuset_cpus: Some("0".into()),
            ..Default::default()
        };
        let r = merged(&o).expect("merges");
        assert_eq!(r.memory().as_ref().and_then(|m| m.limit()), Some(10 << 20));
        assert_eq!(r.pids().as_ref().map(|p| p.limit()), Some(7));
    }
}
