//! Cgroup statistics in the shape of runc's `events` data (cpu, memory,
//! pids, hugetlb), read from v1 or v2 files, and the OOM-kill counter.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{read_file, Cgroup};

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub hugetlb: BTreeMap<String, Hugetlb>,
}

#[derive(Debug, Default, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Default, Serialize)]
pub struct CpuUsage {
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Memory {
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Pids {
    pub current: u64,
    pub limit: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Hugetlb {
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

fn num(dir: &Path, file: &str) -> u64 {
    read_file(dir, file)
        .ok()
        .and_then(|s| {
            let s = s.trim();
            if s == "max" {
                Some(u64::MAX)
            } else {
                s.parse().ok()
            }
        })
        .unwrap_or(0)
}

/// "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
fn keyed(dir: &Path, file: &str) -> BTreeMap<String, u64> {
    read_file(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

impl Cgroup {
    pub fn stats(&self) -> Stats {
        if self.unified {
            return self.v2_dir().map(|d| v2_stats(&d.path)).unwrap_or_default();
        }
        v1_stats(self)
    }

    /// How many times the kernel's OOM killer struck in this cgroup.
    pub fn oom_kills(&self) -> u64 {
        if self.unified {
            return self.v2_dir().map_or(0, |d| {
                keyed(&d.path, "memory.events")
                    .get("oom_kill")
                    .copied()
                    .unwrap_or(0)
            });
        }
        self.v1_dir("memory").map_or(0, |d| {
            keyed(&d.path, "memory.oom_control")
                .get("oom_kill")
                .copied()
                .unwrap_or(0)
        })
    }
}

const NS_PER_TICK: u64 = 10_000_000; // USER_HZ is 100 on Linux

fn v1_stats(cg: &Cgroup) -> Stats {
    let mut s = Stats::default();
    if let Some(d) = cg.v1_dir("cpuacct") {
        s.cpu.usage.total = num(&d.path, "cpuacct.usage");
        s.cpu.usage.percpu = read_file(&d.path, "cpuacct.usage_percpu")
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let st = keyed(&d.path, "cpuacct.stat");
        s.cpu.usage.user = st.get("user").copied().unwrap_or(0) * NS_PER_TICK;
        s.cpu.usage.kernel = st.get("system").copied().unwrap_or(0) * NS_PER_TICK;
    }
    if let Some(d) = cg.v1_dir("cpu") {
        let st = keyed(&d.path, "cpu.stat");
        s.cpu.throttling = Throttling {
            periods: st.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: st.get("throttled_time").copied().unwrap_or(0),
        };
    }
    if let Some(d) = cg.v1_dir("memory") {
        let p = &d.path;
        let entry = |prefix: &str| MemoryEntry {
            limit: num(p, &format!("{prefix}limit_in_bytes")),
            usage: num(p, &format!("{prefix}usage_in_bytes")),
            max: num(p, &format!("{prefix}max_usage_in_bytes")),
            failcnt: num(p, &format!("{prefix}failcnt")),
        };
        s.memory.usage = entry("memory.");
        s.memory.swap = entry("memory.memsw.");
        s.memory.kernel = entry("memory.kmem.");
        s.memory.kernel_tcp = entry("memory.kmem.tcp.");
        s.memory.raw = keyed(p, "memory.stat");
        s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
    }
    if let Some(d) = cg.v1_dir("pids") {
        s.pids = Pids {
            current: num(&d.path, "pids.current"),
            limit: num(&d.path, "pids.max"),
        };
    }
    s
}

fn v2_stats(p: &Path) -> Stats {
    let mut s = Stats::default();
    let cpu = keyed(p, "cpu.stat");
    let get = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    s.cpu.usage = CpuUsage {
        total: get(&cpu, "usage_usec") * 1000,
        percpu: Vec::new(),
        kernel: get(&cpu, "system_usec") * 1000,
        user: get(&cpu, "user_usec") * 1000,
    };
    s.cpu.throttling = Throttling {
        periods: get(&cpu, "nr_periods"),
        throttled_periods: get(&cpu, "nr_throttled"),
        throttled_time: get(&cpu, "throttled_usec") * 1000,
    };
    let events = keyed(p, "memory.events");
    s.memory.usage = MemoryEntry {
        limit: num(p, "memory.max"),
        usage: num(p, "memory.current"),
        max: num(p, "memory.peak"),
        failcnt: get(&events, "max"),
    };
    s.memory.swap = MemoryEntry {
        limit: num(p, "memory.swap.max"),
        usage: num(p, "memory.swap.current"),
        ..Default::default()
    };
    s.memory.raw = keyed(p, "memory.stat");
    s.memory.cache = get(&s.memory.raw, "file");
    s.pids = Pids {
        current: num(p, "pids.current"),
        limit: num(p, "pids.max"),
    };
    s
}
