//! Seccomp: the OCI profile compiled to classic BPF in the parent (libseccomp,
//! with runc's rules for unknown syscalls and multiple conditions), patched
//! so that syscalls newer than the profile get ENOSYS, cached by content, and
//! only loaded by the child with seccomp(2).

pub mod cache;
pub mod enosys;
pub mod eval;
pub mod notify;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

use crate::spec::SpecError;

/// seccomp(2) filter flags.
pub const FLAG_TSYNC: u32 = 1;
pub const FLAG_LOG: u32 = 2;
pub const FLAG_SPEC_ALLOW: u32 = 4;
pub const FLAG_NEW_LISTENER: u32 = 8;
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// The AUDIT_ARCH_* value of the architecture rrun runs as (what a filter
/// sees in seccomp_data.arch for our own syscalls).
pub const fn native_audit_arch() -> u32 {
    if cfg!(target_arch = "x86_64") {
        0xc000_003e
    } else if cfg!(target_arch = "aarch64") {
        0xc000_00b7
    } else {
        0
    }
}

/// A compiled filter, ready for the child to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompPlan {
    /// Classic BPF instructions (8 bytes each), native endian.
    pub bpf: Vec<u8>,
    /// seccomp(2) flags.
    pub flags: u32,
    /// SCMP_ACT_NOTIFY is used: the listener fd goes to this socket.
    pub listener: Option<notify::Listener>,
}

fn action(a: LinuxSeccompAction, errno: Option<u32>, default_errno: u32) -> ScmpAction {
    match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => {
            ScmpAction::Errno(errno.unwrap_or(default_errno) as i32)
        }
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActTrace => {
            ScmpAction::Trace(errno.unwrap_or(default_errno) as u16)
        }
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
    }
}

fn arch(a: Arch) -> Option<ScmpArch> {
    Some(match a {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        _ => return None,
    })
}

fn op(o: LinuxSeccompOperator) -> fn(u64, u64) -> ScmpCompareOp {
    match o {
        LinuxSeccompOperator::ScmpCmpNe => |_, _| ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => |_, _| ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => |_, _| ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => |_, _| ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => |_, _| ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => |_, _| ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => |mask, _| ScmpCompareOp::MaskedEqual(mask),
    }
}

fn flags_of(s: &LinuxSeccomp) -> u32 {
    s.flags().iter().flatten().fold(0, |acc, f| {
        acc | match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
        }
    })
}

/// Does the profile use SCMP_ACT_NOTIFY anywhere?
fn uses_notify(s: &LinuxSeccomp) -> bool {
    s.default_action() == LinuxSeccompAction::ScmpActNotify
        || s.syscalls()
            .iter()
            .flatten()
            .any(|c| c.action() == LinuxSeccompAction::ScmpActNotify)
}

/// Lower linux.seccomp: compile (or take from the cache) and validate.
pub fn plan(
    s: &LinuxSeccomp,
    cache_dir: Option<&std::path::Path>,
) -> Result<SeccompPlan, SpecError> {
    let mut flags = flags_of(s);
    let listener = if uses_notify(s) {
        if s.default_action() == LinuxSeccompAction::ScmpActNotify {
            return Err(SpecError::invalid(
                "linux.seccomp.defaultAction",
                "SCMP_ACT_NOTIFY cannot be the default action",
            ));
        }
        let path = s.listener_path().clone().ok_or_else(|| {
            SpecError::invalid(
                "linux.seccomp.listenerPath",
                "is required when SCMP_ACT_NOTIFY is used",
            )
        })?;
        flags |= FLAG_NEW_LISTENER;
        Some(notify::Listener {
            path,
            metadata: s.listener_metadata().clone().unwrap_or_default(),
        })
    } else {
        None
    };
    let key = cache::key(s);
    let bpf = match cache_dir.and_then(|d| cache::load(d, &key)) {
        Some(bpf) => bpf,
        None => {
            let bpf = compile(s)?;
            if let Some(d) = cache_dir {
                cache::store(d, &key, &bpf);
            }
            bpf
        }
    };
    Ok(SeccompPlan {
        bpf,
        flags,
        listener,
    })
}

fn err(field: &str, e: impl std::fmt::Display) -> SpecError {
    SpecError::invalid(field, e.to_string())
}

/// Compile a profile to BPF (uncached).
pub fn compile(s: &LinuxSeccomp) -> Result<Vec<u8>, SpecError> {
    let default_errno = s.default_errno_ret().unwrap_or(libc::EPERM as u32);
    let default = action(s.default_action(), s.default_errno_ret(), default_errno);
    let mut ctx =
        ScmpFilterContext::new(default).map_err(|e| err("linux.seccomp.defaultAction", e))?;
    // Bad-arch syscalls are killed, as runc's default.
    ctx.set_act_badarch(ScmpAction::KillThread)
        .map_err(|e| err("linux.seccomp", e))?;
    // rrun sets no_new_privs itself, where the config asks for it.
    ctx.set_ctl_nnp(false)
        .map_err(|e| err("linux.seccomp", e))?;
    let mut arches = vec![ScmpArch::native()];
    for (i, a) in s.architectures().iter().flatten().enumerate() {
        let a = arch(*a).ok_or_else(|| {
            err(
                &format!("linux.seccomp.architectures[{i}]"),
                "unsupported architecture",
            )
        })?;
        if !arches.contains(&a) {
            arches.push(a);
        }
        ctx.add_arch(a)
            .map_err(|e| err(&format!("linux.seccomp.architectures[{i}]"), e))?;
    }
    for (i, call) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(call.action(), call.errno_ret(), libc::EPERM as u32);
        if act == default {
            continue; // libseccomp refuses rules equal to the default action
        }
        let args = call.args().as_deref().unwrap_or_default();
        let conds = conditions(&field, args)?;
        let mut per_arg = [0u8; 6];
        for a in args {
            per_arg[a.index() % 6] += 1;
        }
        let split = per_arg.iter().any(|n| *n > 1);
        for name in call.names() {
            // Unknown to this libseccomp (or this arch): skipped, as runc does.
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            add_rule(&mut ctx, act, sc, &conds, split)
                .map_err(|e| err(&field, format!("{name}: {e}")))?;
        }
    }
    let raw = export(&ctx).map_err(|e| err("linux.seccomp", e))?;
    Ok(if needs_enosys(s.default_action()) {
        enosys::patch(&raw, &arches, &profile_syscalls(s))
    } else {
        raw
    })
}

/// runc's rule: conditions on distinct arguments are ANDed in one rule; if
/// any argument has several conditions, each condition becomes its own rule
/// (ORed), since libseccomp cannot AND two conditions on one argument.
fn add_rule(
    ctx: &mut ScmpFilterContext,
    act: ScmpAction,
    sc: ScmpSyscall,
    conds: &[ScmpArgCompare],
    split: bool,
) -> Result<(), libseccomp::error::SeccompError> {
    if conds.is_empty() {
        ctx.add_rule(act, sc)?;
        return Ok(());
    }
    if split {
        for c in conds {
            ctx.add_rule_conditional(act, sc, std::slice::from_ref(c))?;
        }
    } else {
        ctx.add_rule_conditional(act, sc, conds)?;
    }
    Ok(())
}

fn conditions(
    field: &str,
    args: &[oci_spec::runtime::LinuxSeccompArg],
) -> Result<Vec<ScmpArgCompare>, SpecError> {
    args.iter()
        .enumerate()
        .map(|(j, a)| {
            if a.index() > 5 {
                return Err(err(&format!("{field}.args[{j}].index"), "must be 0-5"));
            }
            let value_two = a.value_two().unwrap_or(0);
            let cmp = op(a.op())(a.value(), value_two);
            let datum = if matches!(a.op(), LinuxSeccompOperator::ScmpCmpMaskedEq) {
                value_two
            } else {
                a.value()
            };
            Ok(ScmpArgCompare::new(a.index() as u32, cmp, datum))
        })
        .collect()
}

/// The program as bytes (libseccomp 2.5 exports to a descriptor only).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, String> {
    use std::io::{Read, Seek};
    let fd = nix::sys::memfd::memfd_create(c"rrun-bpf", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(|e| e.to_string())?;
    ctx.export_bpf(&fd).map_err(|e| e.to_string())?;
    let mut f = std::fs::File::from(fd);
    let mut out = Vec::new();
    f.rewind()
        .and_then(|_| f.read_to_end(&mut out))
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn needs_enosys(default: LinuxSeccompAction) -> bool {
    !matches!(
        default,
        LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
    )
}

/// Every syscall name the profile mentions (for the ENOSYS stub).
fn profile_syscalls(s: &LinuxSeccomp) -> Vec<String> {
    s.syscalls()
        .iter()
        .flatten()
        .flat_map(|c| c.names().iter().cloned())
        .collect()
}

/// Architectures a filter can hold on this machine (libseccomp refuses to
/// mix byte orders, so e.g. MIPS big-endian is not usable on x86).
pub fn supported_archs() -> Vec<&'static str> {
    let all = [
        (Arch::ScmpArchAarch64, "SCMP_ARCH_AARCH64"),
        (Arch::ScmpArchArm, "SCMP_ARCH_ARM"),
        (Arch::ScmpArchMips, "SCMP_ARCH_MIPS"),
        (Arch::ScmpArchMips64, "SCMP_ARCH_MIPS64"),
        (Arch::ScmpArchMips64n32, "SCMP_ARCH_MIPS64N32"),
        (Arch::ScmpArchMipsel, "SCMP_ARCH_MIPSEL"),
        (Arch::ScmpArchMipsel64, "SCMP_ARCH_MIPSEL64"),
        (Arch::ScmpArchMipsel64n32, "SCMP_ARCH_MIPSEL64N32"),
        (Arch::ScmpArchParisc, "SCMP_ARCH_PARISC"),
        (Arch::ScmpArchParisc64, "SCMP_ARCH_PARISC64"),
        (Arch::ScmpArchPpc, "SCMP_ARCH_PPC"),
        (Arch::ScmpArchPpc64, "SCMP_ARCH_PPC64"),
        (Arch::ScmpArchPpc64le, "SCMP_ARCH_PPC64LE"),
        (Arch::ScmpArchRiscv64, "SCMP_ARCH_RISCV64"),
        (Arch::ScmpArchS390, "SCMP_ARCH_S390"),
        (Arch::ScmpArchS390x, "SCMP_ARCH_S390X"),
        (Arch::ScmpArchX32, "SCMP_ARCH_X32"),
        (Arch::ScmpArchX86, "SCMP_ARCH_X86"),
        (Arch::ScmpArchX86_64, "SCMP_ARCH_X86_64"),
    ];
    all.iter()
        .filter(|(a, _)| {
            let Some(a) = arch(*a) else { return false };
            ScmpFilterContext::new(ScmpAction::Allow).is_ok_and(|mut ctx| ctx.add_arch(a).is_ok())
        })
        .map(|(_, n)| *n)
        .collect()
}

/// The libseccomp version, for `features` and the cache key.
pub fn libseccomp_version() -> String {
    libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).expect("valid seccomp json")
    }

    #[test]
    fn compiles_a_small_profile_with_every_operator() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
               "syscalls":[{"names":["read","write","nosuchcall"],"action":"SCMP_ACT_ALLOW"},
                 {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
                 {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]},
                 {"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":38,"args":[{"index":1,"value":9,"op":"SCMP_CMP_NE"},{"index":0,"value":1,"op":"SCMP_CMP_GT"}]}]}"#,
        );
        let bpf = compile(&p).expect("compiles");
        assert!(!bpf.is_empty() && bpf.len() % 8 == 0);
    }

    #[test]
    fn notify_needs_a_listener_path() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        assert!(plan(&p, None).is_err());
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/x.sock","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        let plan = plan(&p, None).expect("plans");
        assert!(plan.flags & FLAG_NEW_LISTENER != 0);
    }

    #[test]
    fn flags_are_lowered() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}"#,
        );
        assert_eq!(flags_of(&p), FLAG_LOG | FLAG_SPEC_ALLOW);
    }
}
