//! The container process, lowered from config.json's `process` (or an exec
//! process.json): argv and env, user, rlimits, capabilities as bitmasks,
//! scheduler and I/O priority as the syscalls take them. The child only
//! applies this data.

use std::path::PathBuf;

use oci_spec::runtime::{
    IOPriorityClass, LinuxSchedulerFlag, LinuxSchedulerPolicy, PosixRlimitType, Process,
};

use crate::caps::CapsPlan;
use crate::spec::SpecError;
use crate::sys::SchedAttr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: i32,
    pub name: &'static str,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub rlimits: Vec<Rlimit>,
    pub caps: CapsPlan,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    pub terminal: bool,
    /// (rows, cols) asked for the terminal.
    pub console_size: Option<(u16, u16)>,
    pub scheduler: Option<SchedAttr>,
    pub io_priority: Option<i32>,
    pub apparmor_profile: Option<String>,
    pub selinux_label: Option<String>,
    /// CPUs for the process while rrun sets it up, and after execve.
    pub cpu_affinity_initial: Option<Vec<usize>>,
    pub cpu_affinity_final: Option<Vec<usize>>,
    /// Signals rrun ignores (and so would pass on through execve), reset
    /// to default before it; all of them unless `signals_ignored_here` says.
    pub ignored_signals: u64,
}

/// The signals this process ignores (SigIgn of /proc/self/status, read in
/// the parent before any namespace); None if it cannot be read.
pub fn signals_ignored_here() -> Option<u64> {
    crate::proc_files::self_status_mask("SigIgn")
}

fn rlimit_of(t: PosixRlimitType) -> (i32, &'static str) {
    use PosixRlimitType::*;
    let (r, n) = match t {
        RlimitCpu => (libc::RLIMIT_CPU, "RLIMIT_CPU"),
        RlimitFsize => (libc::RLIMIT_FSIZE, "RLIMIT_FSIZE"),
        RlimitData => (libc::RLIMIT_DATA, "RLIMIT_DATA"),
        RlimitStack => (libc::RLIMIT_STACK, "RLIMIT_STACK"),
        RlimitCore => (libc::RLIMIT_CORE, "RLIMIT_CORE"),
        RlimitRss => (libc::RLIMIT_RSS, "RLIMIT_RSS"),
        RlimitNproc => (libc::RLIMIT_NPROC, "RLIMIT_NPROC"),
        RlimitNofile => (libc::RLIMIT_NOFILE, "RLIMIT_NOFILE"),
        RlimitMemlock => (libc::RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"),
        RlimitAs => (libc::RLIMIT_AS, "RLIMIT_AS"),
        RlimitLocks => (libc::RLIMIT_LOCKS, "RLIMIT_LOCKS"),
        RlimitSigpending => (libc::RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"),
        RlimitMsgqueue => (libc::RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"),
        RlimitNice => (libc::RLIMIT_NICE, "RLIMIT_NICE"),
        RlimitRtprio => (libc::RLIMIT_RTPRIO, "RLIMIT_RTPRIO"),
        RlimitRttime => (libc::RLIMIT_RTTIME, "RLIMIT_RTTIME"),
    };
    (r as i32, n)
}

/// Parse a CPU list such as "0-2,7" into CPU numbers.
pub fn parse_cpu_list(field: &str, list: &str) -> Result<Vec<usize>, SpecError> {
    let bad = || SpecError::invalid(field, format!("invalid CPU list {list:?}"));
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = b.trim().parse().map_err(|_| bad())?;
        if a > b || b >= 8192 {
            return Err(bad());
        }
        cpus.extend(a..=b);
    }
    Ok(cpus)
}

impl ProcessPlan {
    pub fn lower(p: &Process) -> Result<Self, SpecError> {
        let args = p.args().clone().unwrap_or_default();
        if args.is_empty() || args[0].is_empty() {
            return Err(SpecError::invalid(
                "process.args",
                "must name the program to run",
            ));
        }
        if !p.cwd().is_absolute() {
            return Err(SpecError::invalid(
                "process.cwd",
                format!("{} is not an absolute path", p.cwd().display()),
            ));
        }
        let mut rlimits = Vec::new();
        for (i, r) in p.rlimits().iter().flatten().enumerate() {
            let (resource, name) = rlimit_of(r.typ());
            if r.soft() > r.hard() {
                return Err(SpecError::invalid(
                    format!("process.rlimits[{i}]"),
                    format!(
                        "{name}: soft limit {} is above the hard limit {}",
                        r.soft(),
                        r.hard()
                    ),
                ));
            }
            if rlimits.iter().any(|x: &Rlimit| x.resource == resource) {
                return Err(SpecError::invalid(
                    format!("process.rlimits[{i}]"),
                    format!("{name} is given twice"),
                ));
            }
            rlimits.push(Rlimit {
                resource,
                name,
                soft: r.soft(),
                hard: r.hard(),
            });
        }
        let user = p.user();
        let (initial, fin) = match p.exec_cpu_affinity() {
            Some(a) => (
                a.initial()
                    .as_deref()
                    .map(|l| parse_cpu_list("process.execCPUAffinity.initial", l))
                    .transpose()?,
                a.cpu_affinity_final()
                    .as_deref()
                    .map(|l| parse_cpu_list("process.execCPUAffinity.final", l))
                    .transpose()?,
            ),
            None => (None, None),
        };
        Ok(ProcessPlan {
            args,
            env: p.env().clone().unwrap_or_default(),
            cwd: p.cwd().clone(),
            uid: user.uid(),
            gid: user.gid(),
            additional_gids: user.additional_gids().clone().unwrap_or_default(),
            umask: user.umask(),
            rlimits,
            caps: CapsPlan::lower(p.capabilities().as_ref())?,
            no_new_privileges: p.no_new_privileges().unwrap_or(false),
            oom_score_adj: p.oom_score_adj(),
            terminal: p.terminal().unwrap_or(false),
            console_size: p
                .console_size()
                .map(|b| (b.height() as u16, b.width() as u16)),
            scheduler: p.scheduler().as_ref().map(lower_scheduler).transpose()?,
            io_priority: p
                .io_priority()
                .as_ref()
                .map(|io| lower_ioprio(io.class(), io.priority()))
                .transpose()?,
            apparmor_profile: p.apparmor_profile().clone().filter(|s| !s.is_empty()),
            selinux_label: p.selinux_label().clone().filter(|s| !s.is_empty()),
            cpu_affinity_initial: initial,
            cpu_affinity_final: fin,
            ignored_signals: u64::MAX,
        })
    }

    /// The value of a variable in the process environment.
    pub fn env_var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find_map(|kv| kv.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
    }
}

fn lower_ioprio(class: IOPriorityClass, prio: i64) -> Result<i32, SpecError> {
    if !(0..=7).contains(&prio) {
        return Err(SpecError::invalid(
            "process.ioPriority.priority",
            format!("{prio} is out of range 0-7"),
        ));
    }
    let class = match class {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    Ok((class << 13) | prio as i32)
}

fn lower_scheduler(s: &oci_spec::runtime::Scheduler) -> Result<SchedAttr, SpecError> {
    use LinuxSchedulerPolicy::*;
    let policy = match s.policy() {
        SchedOther => libc::SCHED_OTHER,
        SchedFifo => libc::SCHED_FIFO,
        SchedRr => libc::SCHED_RR,
        SchedBatch => libc::SCHED_BATCH,
        SchedIso => 4,
        SchedIdle => libc::SCHED_IDLE,
        SchedDeadline => 6,
    } as u32;
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(SpecError::invalid(
            "process.scheduler.nice",
            format!("{nice} is out of range -20..19"),
        ));
    }
    Ok(SchedAttr {
        size: 0,
        sched_policy: policy,
        sched_flags: flags,
        sched_nice: nice,
        sched_priority: s.priority().unwrap_or(0).max(0) as u32,
        sched_runtime: s.runtime().unwrap_or(0),
        sched_deadline: s.deadline().unwrap_or(0),
        sched_period: s.period().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(json: &str) -> Process {
        serde_json::from_str(json).expect("valid process json")
    }

    #[test]
    fn lowers_rlimits_and_user() {
        let p = process(
            r#"{"cwd":"/","args":["sh"],"user":{"uid":1000,"gid":1000,"additionalGids":[5,6],"umask":18},
                "rlimits":[{"type":"RLIMIT_NOFILE","soft":1024,"hard":2048}],
                "ioPriority":{"class":"IOPRIO_CLASS_BE","priority":4}}"#,
        );
        let plan = ProcessPlan::lower(&p).expect("lowers");
        assert_eq!(plan.rlimits[0].resource, libc::RLIMIT_NOFILE as i32);
        assert_eq!(
            (plan.uid, plan.additional_gids.clone(), plan.umask),
            (1000, vec![5, 6], Some(18))
        );
        assert_eq!(plan.io_priority, Some((2 << 13) | 4));
    }

    #[test]
    fn rejects_bad_process() {
        assert!(ProcessPlan::lower(&process(
            r#"{"cwd":"/","args":[],"user":{"uid":0,"gid":0}}"#
        ))
        .is_err());
        assert!(ProcessPlan::lower(&process(
            r#"{"cwd":"rel","args":["sh"],"user":{"uid":0,"gid":0}}"#
        ))
        .is_err());
        let soft_above_hard = r#"{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},"rlimits":[{"type":"RLIMIT_NOFILE","soft":9,"hard":1}]}"#;
        assert!(ProcessPlan::lower(&process(soft_above_hard)).is_err());
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(
            parse_cpu_list("f", "0-2,5").expect("parses"),
            vec![0, 1, 2, 5]
        );
        assert!(parse_cpu_list("f", "2-1").is_err());
    }

    #[test]
    fn env_lookup_takes_the_last_value() {
        let plan = ProcessPlan {
            env: vec!["PATH=/a".into(), "PATHX=1".into(), "PATH=/b".into()],
            ..Default::default()
        };
        assert_eq!(plan.env_var("PATH"), Some("/b"));
    }
}
