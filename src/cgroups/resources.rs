//! linux.resources lowered into plain file writes, one list for cgroup v1
//! (controller, file, value) and one for v2 (file, value). Pure functions:
//! validation errors name the field; the writers in mod.rs apply the lists.

use std::collections::BTreeMap;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::devices::{self, DeviceRule};
use super::CgroupError;

/// One write to a cgroup file. `controller` selects the v1 hierarchy ("" on v2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Write {
    pub controller: &'static str,
    pub file: String,
    pub value: String,
}

fn w(controller: &'static str, file: impl Into<String>, value: impl ToString) -> Write {
    Write {
        controller,
        file: file.into(),
        value: value.to_string(),
    }
}

/// The lowered resources: device rules are kept apart (v2 needs a BPF program).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourcesPlan {
    pub v1: Vec<Write>,
    pub v2: Vec<Write>,
    pub devices: Option<Vec<DeviceRule>>,
    /// memory.checkBeforeUpdate: refuse a limit below current usage on update.
    pub check_before_update: bool,
}

impl ResourcesPlan {
    /// The controller of the first limit the plan writes, if any.
    pub fn first_limit(&self) -> Option<&'static str> {
        self.v1.iter().chain(&self.v2).map(|w| w.controller).next()
    }

    pub fn lower(r: &LinuxResources, default_devices: bool) -> Result<Self, CgroupError> {
        let mut plan = ResourcesPlan::default();
        if let Some(m) = r.memory() {
            memory(m, &mut plan)?;
        }
        if let Some(c) = r.cpu() {
            cpu(c, &mut plan)?;
        }
        if let Some(p) = r.pids() {
            let limit = p.limit();
            // runtime-spec 1.3: a negative value means "max"; 0 is a real
            // limit of 0 (runc before 1.3 left it alone).
            let v = if limit >= 0 {
                limit.to_string()
            } else {
                "max".into()
            };
            plan.v1.push(w("pids", "pids.max", &v));
            plan.v2.push(w("", "pids.max", &v));
        }
        if let Some(b) = r.block_io() {
            block_io(b, &mut plan);
        }
        for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
            let size = h.page_size();
            if !size.chars().all(|c| c.is_ascii_alphanumeric()) || size.is_empty() {
                return Err(CgroupError::invalid(
                    format!("linux.resources.hugepageLimits[{i}].pageSize"),
                    format!("invalid page size {size:?}"),
                ));
            }
            plan.v1.push(w(
                "hugetlb",
                format!("hugetlb.{size}.limit_in_bytes"),
                h.limit(),
            ));
            plan.v2
                .push(w("hugetlb", format!("hugetlb.{size}.max"), h.limit()));
        }
        if let Some(n) = r.network() {
            if let Some(id) = n.class_id() {
                plan.v1.push(w("net_cls", "net_cls.classid", id));
            }
            for p in n.priorities().iter().flatten() {
                plan.v1.push(w(
                    "net_prio",
                    "net_prio.ifpriomap",
                    format!("{} {}", p.name(), p.priority()),
                ));
            }
        }
        for (dev, limits) in r.rdma().iter().flatten() {
            let mut parts = Vec::new();
            if let Some(h) = limits.hca_handles() {
                parts.push(format!("hca_handle={h}"));
            }
            if let Some(o) = limits.hca_objects() {
                parts.push(format!("hca_object={o}"));
            }
            if !parts.is_empty() {
                let line = format!("{dev} {}", parts.join(" "));
                plan.v1.push(w("rdma", "rdma.max", &line));
                plan.v2.push(w("", "rdma.max", &line));
            }
        }
        if let Some(unified) = r.unified() {
            let sorted: BTreeMap<_, _> = unified.iter().collect();
            for (key, value) in sorted {
                if key.contains('/') || key.starts_with('.') || !key.contains('.') {
                    return Err(CgroupError::invalid(
                        format!("linux.resources.unified[{key:?}]"),
                        "not a cgroup v2 file name",
                    ));
                }
                plan.v2.push(w("", key.clone(), value));
            }
        }
        if let Some(list) = r.devices() {
            let mut rules = Vec::with_capacity(list.len() + 12);
            for (i, d) in list.iter().enumerate() {
                rules.push(DeviceRule::lower(i, d)?);
            }
            if default_devices {
                rules.extend(devices::default_allow_rules());
            }
            plan.devices = Some(rules);
        } else if default_devices {
            plan.devices = Some(devices::default_allow_rules());
        }
        Ok(plan)
    }
}

fn memory(m: &LinuxMemory, plan: &mut ResourcesPlan) -> Result<(), CgroupError> {
    let field = "linux.resources.memory";
    let check = |name: &str, v: Option<i64>| -> Result<(), CgroupError> {
        match v {
            Some(v) if v < -1 => Err(CgroupError::invalid(
                format!("{field}.{name}"),
                format!("{v} is not a valid value (use -1 for unlimited)"),
            )),
            _ => Ok(()),
        }
    };
    check("limit", m.limit())?;
    check("reservation", m.reservation())?;
    check("swap", m.swap())?;
    if let Some(limit) = m.limit() {
        plan.v1.push(w("memory", "memory.limit_in_bytes", limit));
        plan.v2.push(w("", "memory.max", max_or(limit)));
    }
    if let Some(res) = m.reservation() {
        plan.v1.push(w("memory", "memory.soft_limit_in_bytes", res));
        plan.v2.push(w("", "memory.low", max_or(res)));
    }
    if let Some(swap) = m.swap() {
        if let (Some(limit), true) = (m.limit(), swap > 0) {
            if limit > 0 && swap < limit {
                return Err(CgroupError::invalid(
                    format!("{field}.swap"),
                    format!("memory+swap limit {swap} is below the memory limit {limit}"),
                ));
            }
        }
        plan.v1
            .push(w("memory", "memory.memsw.limit_in_bytes", swap));
        plan.v2
            .push(w("", "memory.swap.max", swap_v2(swap, m.limit())?));
    }
    if let Some(k) = m.kernel() {
        plan.v1.push(w("memory", "memory.kmem.limit_in_bytes", k));
    }
    if let Some(k) = m.kernel_tcp() {
        plan.v1
            .push(w("memory", "memory.kmem.tcp.limit_in_bytes", k));
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(CgroupError::invalid(
                format!("{field}.swappiness"),
                format!("{s} is out of range 0-100"),
            ));
        }
        plan.v1.push(w("memory", "memory.swappiness", s));
    }
    if let Some(true) = m.disable_oom_killer() {
        plan.v1.push(w("memory", "memory.oom_control", 1));
    }
    plan.check_before_update = m.check_before_update().unwrap_or(false);
    Ok(())
}

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// v1's memsw limit is memory+swap; v2's swap.max is swap alone (runc's rule).
fn swap_v2(swap: i64, limit: Option<i64>) -> Result<String, CgroupError> {
    match (swap, limit) {
        (-1, _) => Ok("max".into()),
        (0, _) => Ok("0".into()),
        (_, None) | (_, Some(-1)) => Err(CgroupError::invalid(
            "linux.resources.memory.swap",
            "a swap limit needs a memory limit on cgroup v2",
        )),
        (s, Some(l)) => Ok((s - l).max(0).to_string()),
    }
}

fn cpu(c: &LinuxCpu, plan: &mut ResourcesPlan) -> Result<(), CgroupError> {
    if let Some(shares) = c.shares() {
        if shares != 0 {
            plan.v1.push(w("cpu", "cpu.shares", shares));
            plan.v2.push(w("", "cpu.weight", shares_to_weight(shares)));
        }
    }
    let quota = c.quota();
    let period = c.period();
    if let Some(p) = period {
        if p != 0 {
            plan.v1.push(w("cpu", "cpu.cfs_period_us", p));
        }
    }
    if let Some(q) = quota {
        if q != 0 {
            plan.v1.push(w("cpu", "cpu.cfs_quota_us", q));
        }
    }
    if quota.is_some_and(|q| q != 0) || period.is_some_and(|p| p != 0) {
        let q = match quota {
            Some(q) if q > 0 => q.to_string(),
            _ => "max".into(),
        };
        let p = period.filter(|p| *p != 0).unwrap_or(100_000);
        plan.v2.push(w("", "cpu.max", format!("{q} {p}")));
    }
    if let Some(b) = c.burst() {
        plan.v1.push(w("cpu", "cpu.cfs_burst_us", b));
        plan.v2.push(w("", "cpu.max.burst", b));
    }
    if let Some(idle) = c.idle() {
        plan.v1.push(w("cpu", "cpu.idle", idle));
        plan.v2.push(w("", "cpu.idle", idle));
    }
    if let Some(p) = c.realtime_period() {
        if p != 0 {
            plan.v1.push(w("cpu", "cpu.rt_period_us", p));
        }
    }
    if let Some(r) = c.realtime_runtime() {
        if r != 0 {
            plan.v1.push(w("cpu", "cpu.rt_runtime_us", r));
        }
    }
    if let Some(cpus) = c.cpus().as_ref().filter(|s| !s.is_empty()) {
        check_cpu_list("linux.resources.cpu.cpus", cpus)?;
        plan.v1.push(w("cpuset", "cpuset.cpus", cpus));
        plan.v2.push(w("", "cpuset.cpus", cpus));
    }
    if let Some(mems) = c.mems().as_ref().filter(|s| !s.is_empty()) {
        check_cpu_list("linux.resources.cpu.mems", mems)?;
        plan.v1.push(w("cpuset", "cpuset.mems", mems));
        plan.v2.push(w("", "cpuset.mems", mems));
    }
    Ok(())
}

/// runc's conversion of cpu shares (2..262144) to cpu.weight (1..10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// A cpu or memory-node list such as "0-2,4"; each number must be sane.
pub fn check_cpu_list(field: &str, list: &str) -> Result<(), CgroupError> {
    let bad = || CgroupError::invalid(field, format!("invalid list {list:?}"));
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: u32 = a.trim().parse().map_err(|_| bad())?;
        let b: u32 = b.trim().parse().map_err(|_| bad())?;
        if a > b {
            return Err(bad());
        }
    }
    Ok(())
}

fn block_io(b: &LinuxBlockIo, plan: &mut ResourcesPlan) {
    // A weight of 0 means "not set" (Docker always sends one), as in runc.
    if let Some(weight) = b.weight().filter(|w| *w != 0) {
        plan.v1.push(w("blkio", "blkio.weight", weight));
        plan.v2.push(w(
            "",
            "io.weight",
            format!("default {}", blkio_to_io_weight(weight)),
        ));
    }
    if let Some(lw) = b.leaf_weight().filter(|w| *w != 0) {
        plan.v1.push(w("blkio", "blkio.leaf_weight", lw));
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(wt) = d.weight() {
            plan.v1.push(w(
                "blkio",
                "blkio.weight_device",
                format!("{}:{} {}", d.major(), d.minor(), wt),
            ));
            plan.v2.push(w(
                "",
                "io.weight",
                format!("{}:{} {}", d.major(), d.minor(), blkio_to_io_weight(wt)),
            ));
        }
        if let Some(lw) = d.leaf_weight() {
            plan.v1.push(w(
                "blkio",
                "blkio.leaf_weight_device",
                format!("{}:{} {}", d.major(), d.minor(), lw),
            ));
        }
    }
    let throttles = [
        (
            "blkio.throttle.read_bps_device",
            "rbps",
            b.throttle_read_bps_device(),
        ),
        (
            "blkio.throttle.write_bps_device",
            "wbps",
            b.throttle_write_bps_device(),
        ),
        (
            "blkio.throttle.read_iops_device",
            "riops",
            b.throttle_read_iops_device(),
        ),
        (
            "blkio.throttle.write_iops_device",
            "wiops",
            b.throttle_write_iops_device(),
        ),
    ];
    for (v1file, v2key, list) in throttles {
        for d in list.iter().flatten() {
            plan.v1.push(w(
                "blkio",
                v1file,
                format!("{}:{} {}", d.major(), d.minor(), d.rate()),
            ));
            let rate = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            plan.v2.push(w(
                "",
                "io.max",
                format!("{}:{} {v2key}={rate}", d.major(), d.minor()),
            ));
        }
    }
}

/// runc's conversion of blkio weight (10..1000) to io.weight (1..10000).
pub fn blkio_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (weight.clamp(10, 1000) as u64 - 10) * 9999 / 990
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).expect("valid resources json")
    }

    #[test]
    fn lowers_memory_cpu_pids() {
        let r = res(r#"{"memory":{"limit":104857600,"swap":209715200},
                        "cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0"},
                        "pids":{"limit":20}}"#);
        let p = ResourcesPlan::lower(&r, false).expect("lowers");
        assert!(p
            .v1
            .contains(&w("memory", "memory.limit_in_bytes", 104857600)));
        assert!(p.v1.contains(&w("pids", "pids.max", 20)));
        assert!(p.v2.contains(&w("", "memory.swap.max", 104857600)));
        assert!(p.v2.contains(&w("", "cpu.max", "50000 100000")));
        assert!(p.v2.contains(&w("", "cpu.weight", 39)));
        assert!(p.devices.is_none());
    }

    #[test]
    fn pids_negative_is_max_and_zero_is_zero() {
        let p = ResourcesPlan::lower(&res(r#"{"pids":{"limit":-1}}"#), false).expect("lowers");
        assert_eq!(p.v1, vec![w("pids", "pids.max", "max")]);
        let p = ResourcesPlan::lower(&res(r#"{"pids":{"limit":0}}"#), false).expect("lowers");
        assert_eq!(p.v1, vec![w("pids", "pids.max", "0")]);
    }

    #[test]
    fn zero_blkio_weight_is_not_written() {
        let r = res(r#"{"blockIO":{"weight":0,"leafWeight":0}}"#);
        let p = ResourcesPlan::lower(&r, false).expect("lowers");
        assert!(p.v1.is_empty() && p.v2.is_empty());
    }

    #[test]
    fn rejects_bad_values() {
        assert!(ResourcesPlan::lower(&res(r#"{"memory":{"limit":-5}}"#), false).is_err());
        assert!(ResourcesPlan::lower(&res(r#"{"cpu":{"cpus":"3-1"}}"#), false).is_err());
        assert!(ResourcesPlan::lower(&res(r#"{"cpu":{"cpus":"a"}}"#), false).is_err());
        assert!(ResourcesPlan::lower(&res(r#"{"unified":{"../x":"1"}}"#), false).is_err());
        assert!(ResourcesPlan::lower(&res(r#"{"memory":{"swappiness":200}}"#), false).is_err());
    }

    #[test]
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262144), 10000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10000);
    }
}
