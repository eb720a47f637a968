//! config-linux.md "Control groups": cgroupsPath, ownership, the device
//! allowlist and each resource. This host is cgroup v1 (hybrid, with only
//! hugetlb on the unified hierarchy): values are read back from the v1
//! hierarchies. A resource whose controller this host lacks must be either
//! applied or refused ("If the runtime is unable to create the environment
//! specified in the config.json, it MUST generate an error").

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::harness::*;
use crate::tests::mounts::userns_bundle;
use crate::tests::Test;
use crate::{ensure, skip, t};

macro_rules! res {
    ($id:literal, $since:literal, $doc:literal, $ptr:literal, $val:expr, $ctl:literal, $file:literal, $want:literal) => {
        t!(concat!("cgroups.", $id), $since, $doc, |c| resource(
            c, $ptr, $val, $ctl, $file, $want
        ))
    };
}

pub fn tests() -> Vec<Test> {
    vec![
        t!("cgroups.path-absolute", "1.0.0", "In the case of an absolute path (starting with /), the runtime MUST take the path to be relative to the cgroups mount point.", path_absolute),
        t!("cgroups.path-consistent", "1.0.0", "If the value is specified, the runtime MUST consistently attach to the same place in the cgroups hierarchy given the same value of cgroupsPath.", path_consistent),
        t!("cgroups.ownership-v1-unchanged", "1.1.0", "Runtimes SHOULD NOT change the ownership of container cgroups when cgroups v1 is in use (user namespace, cgroup namespace, read-write cgroup mount).", ownership_v1),
        t!("cgroups.ownership-no-cgroupns-unchanged", "1.1.0", "A runtime SHOULD NOT change the ownership of a container cgroup unless it will also create a new cgroup namespace for the container (user namespace, rw cgroup mount, no cgroup namespace).", |c| ownership(c, true, false)),
        t!("cgroups.ownership-no-mount-unchanged", "1.1.0", "If the configuration does not specify a read-write /sys/fs/cgroup mount, the runtime SHOULD NOT change the cgroup ownership.", ownership_no_mount),
        t!("cgroups.devices-order-allow-last", "1.0.0", "The runtime MUST apply entries in the listed order (deny all, then allow c 240:0: the device opens past the cgroup check).", |c| devices_order(c, true)),
        t!("cgroups.devices-order-deny-last", "1.0.0", "The runtime MUST apply entries in the listed order (allow c 240:0, then deny it: open fails with EPERM).", |c| devices_order(c, false)),
        res!("memory-limit", "1.0.0", "memory.limit sets limit of memory usage.", "/linux/resources/memory/limit", json!(64 << 20), "memory", "memory.limit_in_bytes", "67108864"),
        res!("memory-reservation", "1.0.0", "memory.reservation sets soft limit of memory usage.", "/linux/resources/memory/reservation", json!(32 << 20), "memory", "memory.soft_limit_in_bytes", "33554432"),
        t!("cgroups.memory-swap", "1.0.0", "memory.swap sets limit of memory+Swap usage.", memory_swap),
        res!("memory-kernelTCP", "1.0.0", "memory.kernelTCP sets hard limit for kernel TCP buffer memory.", "/linux/resources/memory/kernelTCP", json!(16 << 20), "memory", "memory.kmem.tcp.limit_in_bytes", "16777216"),
        res!("memory-swappiness", "1.0.0", "memory.swappiness sets swappiness parameter of vmscan.", "/linux/resources/memory/swappiness", json!(33), "memory", "memory.swappiness", "33"),
        t!("cgroups.memory-disableOOMKiller", "1.0.0", "memory.disableOOMKiller: to disable the OOM killer, specify a value of true.", oom_killer),
        res!("cpu-shares", "1.0.0", "cpu.shares specifies a relative share of CPU time available to the tasks in a cgroup.", "/linux/resources/cpu/shares", json!(512), "cpu", "cpu.shares", "512"),
        t!("cgroups.cpu-quota-period", "1.0.0", "cpu.quota and cpu.period: the total amount of time in microseconds for which all tasks in a cgroup can run during one period.", cpu_quota),
        t!("cgroups.cpu-burst", "1.1.0", "cpu.burst specifies the maximum amount of accumulated time in microseconds for which all tasks in a cgroup can run additionally for burst during one period.", cpu_burst),
        t!("cgroups.cpu-realtime", "1.0.0", "cpu.realtimeRuntime and realtimePeriod for the realtime scheduler.", cpu_rt),
        res!("cpu-cpus", "1.0.0", "cpu.cpus: list of CPUs the container will run on.", "/linux/resources/cpu/cpus", json!("0"), "cpuset", "cpuset.cpus", "0"),
        res!("cpu-mems", "1.0.0", "cpu.mems: list of memory nodes the container will run on.", "/linux/resources/cpu/mems", json!("0"), "cpuset", "cpuset.mems", "0"),
        res!("cpu-idle", "1.1.0", "cpu.idle: cgroups are configured with minimum weight, 0: default behavior, 1: SCHED_IDLE.", "/linux/resources/cpu/idle", json!(1), "cpu", "cpu.idle", "1"),
        t!("cgroups.blockIO-weight", "1.0.0", "blockIO.weight specifies per-cgroup weight (applied, or an error when the host cannot).", blkio_weight),
        t!("cgroups.blockIO-throttle", "1.0.0", "throttleReadBpsDevice, throttleWriteBpsDevice, throttleReadIOPSDevice, throttleWriteIOPSDevice: per-device rate limits.", blkio_throttle),
        t!("cgroups.hugepageLimits", "1.0.0", "hugepageLimits limit HugeTLB usage (applied, or an error when the host has no v1 hugetlb controller).", hugetlb),
        t!("cgroups.network-classID", "1.0.0", "network.classID is the network class identifier the cgroup's network packets will be tagged with (applied, or an error when the host has no net_cls controller).", net_cls),
        res!("pids-limit", "1.0.0", "pids.limit specifies the maximum number of tasks in the cgroup.", "/linux/resources/pids/limit", json!(77), "pids", "pids.max", "77"),
        res!("pids-limit-zero", "1.3.0", "0 is a valid limit value for the pids cgroup controller from the kernel's perspective and SHOULD be treated as such by runtimes.", "/linux/resources/pids/limit", json!(0), "pids", "pids.max", "0"),
        res!("pids-limit-unlimited", "1.3.0", "pids.limit -1 indicates no limit (max).", "/linux/resources/pids/limit", json!(-1), "pids", "pids.max", "max"),
        t!("cgroups.rdma", "1.0.0", "rdma limits hca_handles and hca_objects per device.", rdma),
        t!("cgroups.unified-on-v1-errors", "1.1.0", "The runtime MUST generate an error when the configuration refers to a cgroup controller that is not present or that cannot be enabled (unified on a v1 host).", unified_v1),
    ]
}

fn cg_name() -> String {
    format!("cf-cg-{}-{}", std::process::id(), uniq())
}

/// The container's cgroup directory in a v1 hierarchy, via /proc/pid/cgroup.
fn cgdir(pid: i32, controller: &str) -> Option<PathBuf> {
    let root = v1_hierarchy(controller)?;
    let rel = read(format!("/proc/{pid}/cgroup")).lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctls, path) = (f.next()?, f.next()?, f.next()?);
        ctls.split(',')
            .any(|x| x == controller)
            .then(|| path.to_string())
    })?;
    Some(root.join(rel.trim_start_matches('/')))
}

/// Create (not start) a container with the given resources; the value of
/// `file` in its `controller` cgroup.
fn created_value(
    c: &Ctx,
    b: &Bundle,
    controller: &str,
    file: &str,
) -> Result<Result<String, Out>, Why> {
    match c.try_create(b, &[]) {
        Err(o) => Ok(Err(o)),
        Ok(ctr) => {
            let pid = c.pid(&ctr);
            let d = cgdir(pid, controller)
                .ok_or_else(|| Why::Fail(format!("the container is in no {controller} cgroup")))?;
            Ok(Ok(read(d.join(file)).trim().to_string()))
        }
    }
}

fn resource(c: &Ctx, ptr: &str, val: Value, controller: &str, file: &str, want: &str) -> Res {
    if v1_hierarchy(controller).is_none() {
        skip!("no {controller} controller on this host");
    }
    let b = c
        .bundle()
        .set(ptr, val)
        .set("/linux/cgroupsPath", json!(format!("/{}", cg_name())));
    let ctr = c.create(&b)?;
    let d = cgdir(c.pid(&ctr), controller)
        .ok_or_else(|| Why::Fail(format!("the container is in no {controller} cgroup")))?;
    ensure!(
        d.exists(),
        "the container's {controller} cgroup {} does not exist",
        d.display()
    );
    if !d.join(file).exists() {
        skip!("this kernel has no {file}");
    }
    let v = read(d.join(file)).trim().to_string();
    ensure!(v == want, "{file} is {v:?} (want {want})");
    Ok(())
}

fn path_absolute(c: &Ctx) -> Res {
    let name = cg_name();
    let b = c
        .bundle()
        .set("/linux/cgroupsPath", json!(format!("/{name}")));
    let ctr = c.create(&b)?;
    let pid = c.pid(&ctr);
    for ctl in ["memory", "pids", "devices"] {
        let root = v1_hierarchy(ctl).ok_or_else(|| Why::Fail(format!("no {ctl} hierarchy")))?;
        let d = cgdir(pid, ctl).unwrap_or_default();
        ensure!(
            d == root.join(&name),
            "{ctl}: the container is in {} (want {})",
            d.display(),
            root.join(&name).display()
        );
    }
    Ok(())
}

fn path_consistent(c: &Ctx) -> Res {
    let name = cg_name();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let b = c
            .bundle()
            .set("/linux/cgroupsPath", json!(format!("/{name}")))
            .args(&["/bin/sh", "-c", "cat /proc/self/cgroup"]);
        let out = c.run(&b).must("run")?.stdout;
        let line = out
            .lines()
            .find(|l| l.contains(":memory:"))
            .unwrap_or("")
            .to_string();
        seen.push(line);
    }
    ensure!(
        seen[0] == seen[1] && seen[0].ends_with(&name),
        "memory cgroup of two runs: {seen:?}"
    );
    Ok(())
}

fn owner(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).map(|m| m.uid()).unwrap_or(u32::MAX)
}

fn ownership(c: &Ctx, with_mount: bool, cgroupns: bool) -> Res {
    let name = cg_name();
    let b = if cgroupns {
        userns_bundle(c).ns_add(json!({"type": "cgroup"}))
    } else {
        userns_bundle(c)
    };
    let mut b = b
        .set("/linux/cgroupsPath", json!(format!("/{name}")))
        .args(&["/bin/probe", "sleep", "60"]);
    if let Some(a) = b.spec["mounts"].as_array_mut() {
        a.retain(|m| m["destination"] != "/sys/fs/cgroup");
        if with_mount {
            a.push(json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "rw"]}));
        }
    }
    let ctr = c.create(&b)?;
    let pid = c.pid(&ctr);
    let mut bad = Vec::new();
    for ctl in ["memory", "pids"] {
        if let Some(d) = cgdir(pid, ctl) {
            for p in [d.clone(), d.join("cgroup.procs"), d.join("tasks")] {
                if p.exists() && owner(&p) != 0 {
                    bad.push(format!("{} owned by {}", p.display(), owner(&p)));
                }
            }
        }
    }
    ensure!(
        bad.is_empty(),
        "cgroup ownership changed on cgroup v1: {bad:?}"
    );
    Ok(())
}

fn ownership_v1(c: &Ctx) -> Res {
    ownership(c, true, true)
}

fn ownership_no_mount(c: &Ctx) -> Res {
    ownership(c, false, true)
}

fn devices_order(c: &Ctx, allow_last: bool) -> Res {
    let rule_deny_all = json!({"allow": false, "access": "rwm"});
    let allow = json!({"allow": true, "type": "c", "major": 240, "minor": 0, "access": "rw"});
    let deny = json!({"allow": false, "type": "c", "major": 240, "minor": 0, "access": "rw"});
    let rules = if allow_last {
        json!([rule_deny_all, allow])
    } else {
        json!([rule_deny_all, allow, deny])
    };
    let b = c.bundle().set("/linux/resources/devices", rules).set(
        "/linux/devices",
        json!([{"path": "/dev/cf240", "type": "c", "major": 240, "minor": 0}]),
    );
    let out = c.shell(b, "/bin/probe open /dev/cf240 r; true")?;
    if allow_last {
        ensure!(
            !out.contains("not permitted"),
            "open was refused by the device cgroup: {out:?}"
        );
    } else {
        ensure!(
            out.contains("not permitted"),
            "open was not refused by the device cgroup: {out:?}"
        );
    }
    Ok(())
}

fn memory_swap(c: &Ctx) -> Res {
    let h = v1_hierarchy("memory").ok_or_else(|| Why::Fail("no memory controller".into()))?;
    if !h.join("memory.memsw.limit_in_bytes").exists() {
        skip!("no swap accounting on this host");
    }
    let b = c
        .bundle()
        .set(
            "/linux/resources/memory",
            json!({"limit": 64 << 20, "swap": 96 << 20}),
        )
        .set("/linux/cgroupsPath", json!(format!("/{}", cg_name())));
    match created_value(c, &b, "memory", "memory.memsw.limit_in_bytes")? {
        Ok(v) => ensure!(v == "100663296", "memsw limit {v}"),
        Err(o) => ensure!(false, "create failed: {}", o.brief()),
    }
    Ok(())
}

fn oom_killer(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set("/linux/resources/memory", json!({"disableOOMKiller": true}))
        .set("/linux/cgroupsPath", json!(format!("/{}", cg_name())));
    match created_value(c, &b, "memory", "memory.oom_control")? {
        Ok(v) => ensure!(
            v.contains("oom_kill_disable 1"),
            "memory.oom_control: {v:?}"
        ),
        Err(o) => ensure!(false, "create failed: {}", o.brief()),
    }
    Ok(())
}

fn cpu_quota(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set(
            "/linux/resources/cpu",
            json!({"quota": 20000, "period": 100000}),
        )
        .set("/linux/cgroupsPath", json!(format!("/{}", cg_name())));
    let ctr = c.create(&b)?;
    let d = cgdir(c.pid(&ctr), "cpu").ok_or_else(|| Why::Fail("no cpu cgroup".into()))?;
    let (q, p) = (
        read(d.join("cpu.cfs_quota_us")),
        read(d.join("cpu.cfs_period_us")),
    );
    ensure!(
        q.trim() == "20000" && p.trim() == "100000",
        "quota {q:?} period {p:?}"
    );
    Ok(())
}

fn cpu_burst(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set(
            "/linux/resources/cpu",
            json!({"quota": 20000, "period": 100000, "burst": 10000}),
        )
        .set("/linux/cgroupsPath", json!(format!("/{}", cg_name())));
    match created_value(c, &b, "cpu", "cpu.cfs_burst_us")? {
        Ok(v) => ensure!(v == "10000", "cpu.cfs_burst_us {v:?}"),
        Err(o) => ensure!(false, "create failed: {}", o.brief()),
    }
    Ok(())
}

fn cpu_rt(c: &Ctx) -> Res {
    let h = v1_hierarchy("cpu").ok_or_else(|| Why::Fail("no cpu controller".into()))?;
    if !h.join("cpu.rt_runtime_us").exists() {
        skip!("this kernel has no RT group scheduling");
    }
    let b = c
        .bundle()
        .set(
            "/linux/resources/cpu",
            json!({"realtimePeriod": 1000000, "realtimeRuntime": 0}),
        )
        .set("/linux/cgroupsPath", json!(format!("/{}", cg_name())));
    match created_value(c, &b, "cpu", "cpu.rt_period_us")? {
        Ok(v) => ensure!(v == "1000000", "cpu.rt_period_us {v:?}"),
        Err(o) => ensure!(false, "create failed: {}", o.brief()),
    }
    Ok(())
}

/// Applied (read back from `file`) or refused at create.
fn applied_or_refused(c: &Ctx, b: Bundle, controller: &str, file: &str, want: &str) -> Res {
    match v1_hierarchy(controller) {
        Some(h) if h.join(file).exists() => {
            match created_value(c, &b, controller, file)? {
                Ok(v) => ensure!(v.contains(want), "{file}: {v:?} (want {want})"),
                Err(o) => ensure!(false, "create failed: {}", o.brief()),
            }
            Ok(())
        }
        _ => {
            let r = c.try_create(&b, &[]);
            ensure!(r.is_err(), "create succeeded although this host cannot apply it ({controller} has no {file}): the setting was silently dropped");
            Ok(())
        }
    }
}

fn blkio_weight(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set("/linux/resources/blockIO", json!({"weight": 300}))
        .set("/linux/cgroupsPath", json!(format!("/{}", cg_name())));
    applied_or_refused(c, b, "blkio", "blkio.weight", "300")
}

fn block_dev() -> Option<(u64, u64)> {
    let s = read("/sys/block/vda/dev");
    let s = if s.is_empty() {
        read("/sys/block/sda/dev")
    } else {
        s
    };
    let (a, b) = s.trim().split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn blkio_throttle(c: &Ctx) -> Res {
    let Some((maj, min)) = block_dev() else {
        skip!("no block device to throttle");
    };
    let d = json!([{"major": maj, "minor": min, "rate": 1048576}]);
    let b = c
        .bundle()
        .set("/linux/resources/blockIO", json!({"throttleReadBpsDevice": d, "throttleWriteBpsDevice": d, "throttleReadIOPSDevice": d, "throttleWriteIOPSDevice": d}))
        .set("/linux/cgroupsPath", json!(format!("/{}", cg_name())));
    let ctr = c.create(&b)?;
    let dir = cgdir(c.pid(&ctr), "blkio").ok_or_else(|| Why::Fail("no blkio cgroup".into()))?;
    for f in [
        "read_bps_device",
        "write_bps_device",
        "read_iops_device",
        "write_iops_device",
    ] {
        let v = read(dir.join(format!("blkio.throttle.{f}")));
        ensure!(
            v.contains(&format!("{maj}:{min} 1048576")),
            "blkio.throttle.{f}: {v:?}"
        );
    }
    Ok(())
}

fn hugetlb(c: &Ctx) -> Res {
    let name = cg_name();
    let b = c
        .bundle()
        .set(
            "/linux/resources/hugepageLimits",
            json!([{"pageSize": "2MB", "limit": 4194304}]),
        )
        .set("/linux/cgroupsPath", json!(format!("/{name}")));
    let unified = std::path::Path::new("/sys/fs/cgroup/unified");
    if v1_hierarchy("hugetlb").is_none()
        && read(unified.join("cgroup.controllers")).contains("hugetlb")
    {
        // A hybrid host with hugetlb bound to cgroup2: the limit can be
        // applied there (hugetlb.<size>.max), or refused; never dropped.
        return match c.try_create(&b, &[]) {
            Err(_) => Ok(()),
            Ok(_ctr) => {
                let v = read(unified.join(&name).join("hugetlb.2MB.max"));
                ensure!(
                    v.trim() == "4194304",
                    "cgroup2 hugetlb.2MB.max: {v:?} (want 4194304)"
                );
                Ok(())
            }
        };
    }
    applied_or_refused(c, b, "hugetlb", "hugetlb.2MB.limit_in_bytes", "4194304")
}

fn net_cls(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set("/linux/resources/network", json!({"classID": 1048577}))
        .set("/linux/cgroupsPath", json!(format!("/{}", cg_name())));
    applied_or_refused(c, b, "net_cls", "net_cls.classid", "1048577")
}

fn rdma(_c: &Ctx) -> Res {
    if v1_hierarchy("rdma").is_none()
        && !read("/sys/fs/cgroup/unified/cgroup.controllers").contains("rdma")
    {
        skip!("no rdma controller (and no RDMA device) on this host");
    }
    skip!("no RDMA device on this host");
}

fn unified_v1(c: &Ctx) -> Res {
    let b = c
        .bundle()
        .set("/linux/resources/unified", json!({"pids.max": "10"}))
        .set("/linux/cgroupsPath", json!(format!("/{}", cg_name())));
    let r = c.try_create(&b, &[]);
    ensure!(
        r.is_err(),
        "unified pids.max was accepted on a host whose cgroup2 hierarchy has no pids controller"
    );
    Ok(())
}
