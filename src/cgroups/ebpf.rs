//! Device rules on cgroup v2: linux.resources.devices compiled into an eBPF
//! program of type BPF_PROG_TYPE_CGROUP_DEVICE, attached to the container's
//! cgroup (cgroup v2 has no devices.allow / devices.deny files).
//!
//! The rules keep the meaning they have on a v1 host, emulated as runc does:
//! - They apply in order, starting from "deny everything". A rule of type `a`
//!   (whatever its numbers and access) resets: allow means every device is
//!   allowed, deny that every device is denied, and earlier rules are gone.
//! - Any other rule is an exception to that default for one (type, major,
//!   minor), `*` included: when its action differs from the default it adds
//!   its access to that exception, otherwise it takes its access away from
//!   the exception with exactly the same numbers.
//! - Taking access away that a wider wildcard exception still grants (a hole
//!   in a wildcard rule) is refused, as runc does: v1 silently ignores it.
//! - A request (type, major, minor, access) is granted by an allow exception
//!   that covers all the requested access, and refused by a deny exception
//!   that names any of it (the kernel's v1 matching).
//!
//! The default rules are appended after the config's rules (see devices.rs),
//! so a deny in the config never takes /dev/null away.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::devices::DeviceRule;
use super::CgroupError;

/// The name rrun gives its programs, to find them again on update.
const PROG_NAME: &[u8] = b"rrun_devices";
const LICENSE: &std::ffi::CStr = c"Apache";
const VERIFIER_LOG_SIZE: usize = 256 * 1024;

const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const ATTACH_CGROUP_DEVICE: u32 = 6;
const F_ALLOW_MULTI: u32 = 2;

// struct bpf_cgroup_dev_ctx: access_type = access << 16 | type, major, minor.
const DEV_BLOCK: u32 = 1;
const DEV_CHAR: u32 = 2;
const ACC_MKNOD: u32 = 1;
const ACC_READ: u32 = 2;
const ACC_WRITE: u32 = 4;

/// One eBPF instruction (struct bpf_insn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

/// Opcodes used by the device filter.
mod op {
    pub const LDX_MEM_W: u8 = 0x61; // dst = *(u32 *)(src + off)
    pub const AND32_K: u8 = 0x54; // dst = (u32)dst & imm
    pub const RSH32_K: u8 = 0x74; // dst = (u32)dst >> imm
    pub const MOV32_K: u8 = 0xb4; // dst = (u32)imm
    pub const MOV32_X: u8 = 0xbc; // dst = (u32)src
    pub const JNE_K: u8 = 0x55; // if dst != imm goto +off
    pub const JNE_X: u8 = 0x5d; // if dst != src goto +off
    pub const JEQ_K: u8 = 0x15; // if dst == imm goto +off
    pub const JSET_K: u8 = 0x45; // if dst & imm goto +off
    pub const EXIT: u8 = 0x95; // return r0
}

// Registers: r1 holds the context on entry and is scratch afterwards.
const R0: u8 = 0;
const R_CTX: u8 = 1;
const R_TMP: u8 = 1;
const R_TYPE: u8 = 2;
const R_ACCESS: u8 = 3;
const R_MAJOR: u8 = 4;
const R_MINOR: u8 = 5;

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    fn is_jump(&self) -> bool {
        self.code & 0x07 == 0x05 && self.code != op::EXIT
    }

    /// The 8 bytes of struct bpf_insn in this machine's byte order.
    pub fn to_bytes(self) -> [u8; 8] {
        let regs = if cfg!(target_endian = "little") {
            self.dst | (self.src << 4)
        } else {
            (self.dst << 4) | self.src
        };
        let [o0, o1] = self.off.to_ne_bytes();
        let [i0, i1, i2, i3] = self.imm.to_ne_bytes();
        [self.code, regs, o0, o1, i0, i1, i2, i3]
    }
}

/// The program as the bytes BPF_PROG_LOAD takes.
pub fn encode(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}

/// What an exception matches: BPF device type and numbers (None = `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Meta {
    kind: u32,
    major: Option<u32>,
    minor: Option<u32>,
}

impl Meta {
    /// None for a rule of type `a`.
    fn of(rule: &DeviceRule) -> Result<Option<Meta>, CgroupError> {
        let kind = match rule.kind {
            'a' => return Ok(None),
            'c' => DEV_CHAR,
            'b' => DEV_BLOCK,
            other => return Err(bad_rule(rule, &format!("unknown type {other:?}"))),
        };
        Ok(Some(Meta {
            kind,
            major: number(rule, rule.major)?,
            minor: number(rule, rule.minor)?,
        }))
    }

    /// The wildcard exceptions that also match what this one matches.
    fn wider(self) -> impl Iterator<Item = Meta> {
        let w = |major, minor| Meta {
            kind: self.kind,
            major,
            minor,
        };
        [w(None, self.minor), w(self.major, None), w(None, None)]
            .into_iter()
            .filter(move |m| *m != self)
    }

    fn line(&self, access: u32) -> String {
        let kind = if self.kind == DEV_CHAR { 'c' } else { 'b' };
        let num = |v: Option<u32>| v.map_or("*".to_string(), |n| n.to_string());
        let acc: String = [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')]
            .iter()
            .filter(|(bit, _)| access & bit != 0)
            .map(|(_, c)| c)
            .collect();
        format!("{kind} {}:{} {acc}", num(self.major), num(self.minor))
    }
}

/// A device number; a negative one is Docker's wildcard.
fn number(rule: &DeviceRule, v: Option<i64>) -> Result<Option<u32>, CgroupError> {
    match v {
        Some(n) if n >= 0 => u32::try_from(n)
            .map(Some)
            .map_err(|_| bad_rule(rule, &format!("device number {n} is out of range"))),
        _ => Ok(None),
    }
}

fn access_bits(rule: &DeviceRule) -> Result<u32, CgroupError> {
    let bits = rule.access.chars().try_fold(0, |bits, c| match c {
        'r' => Some(bits | ACC_READ),
        'w' => Some(bits | ACC_WRITE),
        'm' => Some(bits | ACC_MKNOD),
        _ => None,
    });
    bits.filter(|b| *b != 0)
        .ok_or_else(|| bad_rule(rule, "access is not a combination of r, w and m"))
}

fn bad_rule(rule: &DeviceRule, problem: &str) -> CgroupError {
    CgroupError::invalid(
        "linux.resources.devices",
        format!("rule {:?}: {problem}", rule.v1_line()),
    )
}

/// The state of a v1 devices cgroup after a list of rules.
#[derive(Debug, Default)]
struct Emulator {
    default_allow: bool,
    /// Access granted (default deny) or denied (default allow) per match.
    exceptions: BTreeMap<Meta, u32>,
}

impl Emulator {
    fn apply(&mut self, rule: &DeviceRule) -> Result<(), CgroupError> {
        let Some(meta) = Meta::of(rule)? else {
            *self = Emulator {
                default_allow: rule.allow,
                exceptions: BTreeMap::new(),
            };
            return Ok(());
        };
        let access = access_bits(rule)?;
        if rule.allow != self.default_allow {
            *self.exceptions.entry(meta).or_default() |= access;
            return Ok(());
        }
        self.take_away(rule, meta, access)
    }

    fn take_away(&mut self, rule: &DeviceRule, meta: Meta, access: u32) -> Result<(), CgroupError> {
        for wider in meta.wider() {
            if let Some(&held) = self.exceptions.get(&wider) {
                if held & access != 0 {
                    let action = if self.default_allow { "deny" } else { "allow" };
                    return Err(bad_rule(
                        rule,
                        &format!(
                            "would punch a hole in the earlier wildcard rule {:?} ({action}), \
                             which device cgroups cannot do",
                            wider.line(held)
                        ),
                    ));
                }
            }
        }
        if let Some(held) = self.exceptions.get_mut(&meta) {
            *held &= !access;
            if *held == 0 {
                self.exceptions.remove(&meta);
            }
        }
        Ok(())
    }
}

/// Compile the rules (config rules, then the default ones) into the device
/// filter: 1 allows the access, 0 denies it.
pub fn program(rules: &[DeviceRule]) -> Result<Vec<Insn>, CgroupError> {
    let mut emu = Emulator::default();
    for rule in rules {
        emu.apply(rule)?;
    }
    let mut insns = prologue();
    for (meta, access) in &emu.exceptions {
        insns.extend(exception(meta, *access, !emu.default_allow));
    }
    insns.extend(verdict(emu.default_allow));
    Ok(insns)
}

/// Load the context into registers: type, access, major, minor.
fn prologue() -> Vec<Insn> {
    vec![
        Insn::new(op::LDX_MEM_W, R_TYPE, R_CTX, 0, 0),
        Insn::new(op::AND32_K, R_TYPE, 0, 0, 0xffff),
        Insn::new(op::LDX_MEM_W, R_ACCESS, R_CTX, 0, 0),
        Insn::new(op::RSH32_K, R_ACCESS, 0, 0, 16),
        Insn::new(op::LDX_MEM_W, R_MAJOR, R_CTX, 4, 0),
        Insn::new(op::LDX_MEM_W, R_MINOR, R_CTX, 8, 0),
    ]
}

fn verdict(allow: bool) -> [Insn; 2] {
    [
        Insn::new(op::MOV32_K, R0, 0, 0, i32::from(allow)),
        Insn::new(op::EXIT, 0, 0, 0, 0),
    ]
}

/// One exception: a block that returns `allow` when the request matches
/// and falls through to the next block otherwise.
fn exception(meta: &Meta, access: u32, allow: bool) -> Vec<Insn> {
    let mut block = jump_if_not(R_TYPE, meta.kind);
    for (reg, value) in [(R_MAJOR, meta.major), (R_MINOR, meta.minor)] {
        if let Some(v) = value {
            block.extend(jump_if_not(reg, v));
        }
    }
    if allow {
        // Some requested access is not granted: no match.
        block.push(Insn::new(op::JSET_K, R_ACCESS, 0, 0, !access as i32));
    } else {
        // None of the requested access is denied: no match.
        block.push(Insn::new(op::MOV32_X, R_TMP, R_ACCESS, 0, 0));
        block.push(Insn::new(op::AND32_K, R_TMP, 0, 0, access as i32));
        block.push(Insn::new(op::JEQ_K, R_TMP, 0, 0, 0));
    }
    block.extend(verdict(allow));
    // Every jump of a block goes to the next block.
    let len = block.len();
    for (i, insn) in block.iter_mut().enumerate() {
        if insn.is_jump() {
            insn.off = (len - i - 1) as i16;
        }
    }
    block
}

/// `if reg != value` jump (the offset is set by the caller). An immediate is
/// sign-extended, so a value above i32::MAX goes through a register.
fn jump_if_not(reg: u8, value: u32) -> Vec<Insn> {
    match i32::try_from(value) {
        Ok(imm) => vec![Insn::new(op::JNE_K, reg, 0, 0, imm)],
        Err(_) => vec![
            Insn::new(op::MOV32_K, R_TMP, 0, 0, value as i32),
            Insn::new(op::JNE_X, reg, R_TMP, 0, 0),
        ],
    }
}

/// Enforce the rules on the cgroup at `cgroup_dir`: load the program, attach
/// it, then detach the programs rrun attached before (on update), so that
/// the cgroup is never without a filter. Programs attached by others stay.
/// Rootless (an ordinary user, or root of a user namespace as under
/// rootless podman) bpf(2) is refused: as runc, go on without a filter.
pub fn attach(cgroup_dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let insns = program(rules)?;
    match install(cgroup_dir, &insns) {
        Err(e) if crate::userns::rootless_caller() => {
            crate::logging::debug(&format!("{e} (rootless: no device filter)"));
            Ok(())
        }
        result => result,
    }
}

fn install(cgroup_dir: &Path, insns: &[Insn]) -> Result<(), CgroupError> {
    let fail = |step: &str, cause: String| {
        CgroupError::Unsupported(format!(
            "device filter for {}: {step}: {cause}",
            cgroup_dir.display()
        ))
    };
    let dir = nix::fcntl::open(
        cgroup_dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| fail("open the cgroup", text(e)))?;
    let old = rrun_programs(dir.as_fd()).map_err(|e| fail("query attached programs", text(e)))?;
    let prog = load(&encode(insns)).map_err(|e| fail("load the program", e))?;
    crate::sys::bpf::prog_attach(
        dir.as_fd(),
        prog.as_fd(),
        ATTACH_CGROUP_DEVICE,
        F_ALLOW_MULTI,
    )
    .map_err(|e| fail("attach the program", text(e)))?;
    for p in old {
        crate::sys::bpf::prog_detach(dir.as_fd(), p.as_fd(), ATTACH_CGROUP_DEVICE)
            .map_err(|e| fail("detach the previous program", text(e)))?;
    }
    Ok(())
}

fn text(e: Errno) -> String {
    crate::error::Cause(e).to_string()
}

/// Load the program; when the kernel refuses it, load again with a verifier
/// log and report its end. EPERM may be the memlock limit (before Linux 5.11
/// BPF memory counts against it): retry with the limit lifted, as runc does.
fn load(code: &[u8]) -> Result<OwnedFd, String> {
    match crate::sys::bpf::prog_load(PROG_TYPE_CGROUP_DEVICE, code, LICENSE, PROG_NAME, None) {
        Ok(fd) => Ok(fd),
        Err(Errno::EPERM) => with_unlimited_memlock(|| load_with_log(code)),
        Err(_) => load_with_log(code),
    }
}

fn load_with_log(code: &[u8]) -> Result<OwnedFd, String> {
    let mut log = vec![0u8; VERIFIER_LOG_SIZE];
    crate::sys::bpf::prog_load(
        PROG_TYPE_CGROUP_DEVICE,
        code,
        LICENSE,
        PROG_NAME,
        Some(&mut log),
    )
    .map_err(|e| {
        let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
        let log = String::from_utf8_lossy(&log[..end]);
        let tail: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = tail[tail.len().saturating_sub(8)..].join("; ");
        if tail.is_empty() {
            text(e)
        } else {
            format!("{}: verifier: {tail}", text(e))
        }
    })
}

/// Run `f` with RLIMIT_MEMLOCK unlimited, then put the limit back (children
/// forked later, the container among them, must not inherit it).
fn with_unlimited_memlock<T>(f: impl FnOnce() -> T) -> T {
    use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
    let old = getrlimit(Resource::RLIMIT_MEMLOCK).ok();
    let _ = setrlimit(Resource::RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY);
    let result = f();
    if let Some((soft, hard)) = old {
        let _ = setrlimit(Resource::RLIMIT_MEMLOCK, soft, hard);
    }
    result
}

/// The device programs rrun attached to this cgroup (known by their name).
/// Programs we may not open (an LSM may refuse) or that went away are not
/// ours to detach.
fn rrun_programs(dir: BorrowedFd<'_>) -> nix::Result<Vec<OwnedFd>> {
    let mut out = Vec::new();
    for id in attached_ids(dir)? {
        let fd = match crate::sys::bpf::prog_get_fd_by_id(id) {
            Ok(fd) => fd,
            Err(Errno::ENOENT | Errno::EPERM | Errno::EACCES) => continue,
            Err(e) => return Err(e),
        };
        if is_ours(&crate::sys::bpf::prog_name(fd.as_fd())?) {
            out.push(fd);
        }
    }
    Ok(out)
}

fn is_ours(name: &[u8]) -> bool {
    name.split(|b| *b == 0).next() == Some(PROG_NAME)
}

/// Ids of the device programs attached to this cgroup itself.
fn attached_ids(dir: BorrowedFd<'_>) -> nix::Result<Vec<u32>> {
    for _ in 0..10 {
        let count = crate::sys::bpf::prog_query(dir, ATTACH_CGROUP_DEVICE, &mut [])?;
        let mut ids = vec![0u32; count];
        match crate::sys::bpf::prog_query(dir, ATTACH_CGROUP_DEVICE, &mut ids) {
            Ok(n) => {
                ids.truncate(n);
                return Ok(ids);
            }
            // Someone attached one more in between: ask again.
            Err(Errno::ENOSPC) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EAGAIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::devices::default_allow_rules;

    /// Run the program over one request, as the kernel would, checking what
    /// the verifier checks for straight-line code: registers are written
    /// before they are read, loads come from the context, jumps go forward
    /// and stay inside, and r0 is 0 or 1 at exit.
    fn run(prog: &[Insn], kind: u32, major: u32, minor: u32, access: u32) -> bool {
        const CTX: u64 = 0x1000;
        let ctx = [(access << 16) | kind, major, minor];
        let mut r = [None::<u64>; 11];
        r[1] = Some(CTX);
        let mut pc = 0;
        loop {
            let i = *prog.get(pc).expect("the program ends with exit");
            pc += 1;
            let get = |reg: u8| r[reg as usize].expect("register read before written");
            let imm = i.imm as i64 as u64;
            let jump = match i.code {
                op::LDX_MEM_W => {
                    let at = get(i.src) + i.off as u64 - CTX;
                    assert!(at % 4 == 0 && at < 12, "load outside the context");
                    r[i.dst as usize] = Some(ctx[(at / 4) as usize] as u64);
                    false
                }
                op::AND32_K => {
                    r[i.dst as usize] = Some((get(i.dst) as u32 & i.imm as u32) as u64);
                    false
                }
                op::RSH32_K => {
                    r[i.dst as usize] = Some((get(i.dst) as u32 >> i.imm) as u64);
                    false
                }
                op::MOV32_K => {
                    r[i.dst as usize] = Some(i.imm as u32 as u64);
                    false
                }
                op::MOV32_X => {
                    r[i.dst as usize] = Some(get(i.src) as u32 as u64);
                    false
                }
                op::JNE_K => get(i.dst) != imm,
                op::JNE_X => get(i.dst) != get(i.src),
                op::JEQ_K => get(i.dst) == imm,
                op::JSET_K => get(i.dst) & imm != 0,
                op::EXIT => {
                    let r0 = get(0);
                    assert!(r0 <= 1, "r0 = {r0}");
                    return r0 == 1;
                }
                code => panic!("unexpected opcode {code:#x}"),
            };
            if jump {
                assert!(i.off >= 0, "backward jump");
                pc += i.off as usize;
            }
        }
    }

    fn rule(
        allow: bool,
        kind: char,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: access.into(),
        }
    }

    fn all(allow: bool) -> DeviceRule {
        rule(allow, 'a', None, None, "rwm")
    }

    fn c(allow: bool, major: i64, minor: i64, access: &str) -> DeviceRule {
        rule(allow, 'c', Some(major), Some(minor), access)
    }

    /// The compiled rules as a predicate: ("c 1:3", "rw") -> allowed?
    fn filter(rules: &[DeviceRule]) -> impl Fn(&str, &str) -> bool {
        let prog = program(rules).expect("compiles");
        move |dev: &str, access: &str| {
            let (kind, nums) = dev.split_once(' ').expect("\"c 1:3\"");
            let (major, minor) = nums.split_once(':').expect("major:minor");
            let kind = if kind == "c" { DEV_CHAR } else { DEV_BLOCK };
            let bits = access_bits(&rule(true, 'c', None, None, access)).expect("access");
            run(
                &prog,
                kind,
                major.parse().expect("major"),
                minor.parse().expect("minor"),
                bits,
            )
        }
    }

    fn with_defaults(mut rules: Vec<DeviceRule>) -> Vec<DeviceRule> {
        rules.extend(default_allow_rules());
        rules
    }

    #[test]
    fn no_rules_deny_everything() {
        let ok = filter(&[]);
        assert!(!ok("c 1:3", "r"));
        assert!(!ok("b 8:0", "m"));
    }

    #[test]
    fn deny_all_then_an_allow_list() {
        let ok = filter(&[
            all(false),
            c(true, 1, 11, "r"),
            rule(true, 'b', Some(8), Some(0), "rwm"),
        ]);
        assert!(ok("c 1:11", "r"));
        assert!(!ok("c 1:11", "w"));
        assert!(!ok("c 1:11", "rw"));
        assert!(ok("b 8:0", "rw"));
        assert!(ok("b 8:0", "m"));
        assert!(!ok("c 8:0", "r"), "the type must match");
        assert!(!ok("b 8:1", "r"));
        assert!(!ok("c 1:12", "r"));
    }

    #[test]
    fn wildcard_major_and_minor() {
        let ok = filter(&[
            all(false),
            rule(true, 'c', Some(1), None, "r"),
            rule(true, 'c', None, Some(7), "w"),
            rule(true, 'b', None, None, "m"),
        ]);
        assert!(ok("c 1:0", "r"));
        assert!(ok("c 1:4000", "r"));
        assert!(!ok("c 2:0", "r"));
        assert!(ok("c 99:7", "w"));
        assert!(!ok("c 99:8", "w"));
        assert!(ok("b 259:3", "m"));
        assert!(!ok("b 259:3", "r"));
        assert!(!ok("c 259:3", "m"));
    }

    #[test]
    fn docker_encodes_a_wildcard_as_minus_one() {
        let json = r#"{"allow":true,"type":"c","major":1,"minor":-1,"access":"r"}"#;
        let spec: oci_spec::runtime::LinuxDeviceCgroup = serde_json::from_str(json).expect("json");
        let lowered = DeviceRule::lower(0, &spec).expect("lowers");
        let ok = filter(&[all(false), lowered]);
        assert!(ok("c 1:11", "r"));
        assert!(ok("c 1:0", "r"));
        assert!(!ok("c 1:11", "w"));
        // Also when a rule is built by hand with -1.
        let ok = filter(&[all(false), c(true, -1, 5, "rw")]);
        assert!(ok("c 7:5", "rw"));
    }

    #[test]
    fn access_subsets() {
        let ok = filter(&[all(false), c(true, 1, 11, "rw"), c(true, 1, 12, "m")]);
        for (acc, want) in [
            ("r", true),
            ("w", true),
            ("rw", true),
            ("m", false),
            ("rwm", false),
        ] {
            assert_eq!(ok("c 1:11", acc), want, "rw rule, {acc}");
        }
        assert!(ok("c 1:12", "m"));
        assert!(!ok("c 1:12", "r"), "mknod only: no open");
        assert!(!ok("c 1:12", "w"));
    }

    #[test]
    fn a_deny_after_an_allow_takes_access_away() {
        let ok = filter(&[all(false), c(true, 1, 11, "rwm"), c(false, 1, 11, "w")]);
        assert!(ok("c 1:11", "r"));
        assert!(ok("c 1:11", "m"));
        assert!(!ok("c 1:11", "w"));
        assert!(!ok("c 1:11", "rw"));
        let ok = filter(&[all(false), c(true, 1, 11, "rwm"), c(false, 1, 11, "rwm")]);
        assert!(!ok("c 1:11", "r"));
        // And an allow after the deny gives it back.
        let ok = filter(&[
            all(false),
            c(true, 1, 11, "r"),
            c(false, 1, 11, "r"),
            c(true, 1, 11, "r"),
        ]);
        assert!(ok("c 1:11", "r"));
    }

    #[test]
    fn access_is_not_combined_across_rules() {
        // As in v1: one exception must cover the whole request.
        let ok = filter(&[
            all(false),
            c(true, 1, 11, "r"),
            rule(true, 'c', Some(1), None, "w"),
        ]);
        assert!(ok("c 1:11", "r"));
        assert!(ok("c 1:11", "w"));
        assert!(!ok("c 1:11", "rw"));
    }

    #[test]
    fn allow_all_is_privileged() {
        let ok = filter(&with_defaults(vec![all(true)]));
        for dev in ["c 1:1", "c 1:11", "b 8:0", "c 4095:1048575"] {
            assert!(ok(dev, "rw") && ok(dev, "m"), "{dev}");
        }
    }

    #[test]
    fn deny_exceptions_match_any_denied_access() {
        let ok = filter(&with_defaults(vec![
            all(true),
            c(false, 1, 11, "w"),
            c(false, 1, 12, "rwm"),
        ]));
        assert!(ok("c 1:11", "r"));
        assert!(!ok("c 1:11", "w"));
        assert!(
            !ok("c 1:11", "rw"),
            "v1 refuses a request that names a denied access"
        );
        assert!(!ok("c 1:12", "r"));
        assert!(ok("c 1:13", "rw"));
    }

    #[test]
    fn the_default_rules_win_over_a_config_deny() {
        let ok = filter(&with_defaults(vec![
            all(false),
            c(false, 1, 3, "rwm"),
            c(false, 5, 2, "rw"),
        ]));
        assert!(ok("c 1:3", "rw"), "/dev/null");
        assert!(ok("c 5:2", "rw"), "/dev/ptmx");
        assert!(ok("c 136:7", "rw"), "/dev/pts/7");
        assert!(ok("c 10:200", "rw"), "/dev/net/tun");
        assert!(ok("c 99:1", "m") && ok("b 8:0", "m"), "mknod of anything");
        assert!(!ok("c 99:1", "r"));
        assert!(!ok("b 8:0", "r"));
        // Privileged with a deny of /dev/null: the default allow removes it.
        let ok = filter(&with_defaults(vec![all(true), c(false, 1, 3, "rwm")]));
        assert!(ok("c 1:3", "rw"));
    }

    #[test]
    fn an_a_rule_resets_whatever_its_numbers_and_access() {
        let ok = filter(&[
            all(false),
            c(true, 1, 3, "rwm"),
            rule(true, 'a', Some(1), None, "r"),
        ]);
        assert!(ok("b 8:0", "w"), "allow-all, as v1 reads any 'a' line");
        let ok = filter(&[
            all(true),
            c(false, 1, 11, "rwm"),
            all(false),
            c(true, 1, 3, "rwm"),
        ]);
        assert!(ok("c 1:3", "rw"));
        assert!(!ok("c 1:11", "r"));
        assert!(!ok("c 1:12", "r"));
        // Without a leading 'a' rule the default is deny.
        let ok = filter(&[c(true, 1, 3, "r")]);
        assert!(ok("c 1:3", "r"));
        assert!(!ok("c 1:5", "r"));
    }

    #[test]
    fn holes_in_wildcard_rules_are_refused() {
        for rules in [
            vec![
                all(false),
                rule(true, 'c', Some(1), None, "rwm"),
                c(false, 1, 3, "w"),
            ],
            vec![
                all(false),
                rule(true, 'c', None, None, "r"),
                c(false, 1, 3, "r"),
            ],
            vec![
                all(true),
                rule(false, 'c', None, Some(3), "rw"),
                c(true, 1, 3, "w"),
            ],
        ] {
            let err = program(&rules).expect_err("a hole").to_string();
            assert!(err.starts_with("linux.resources.devices: rule "), "{err}");
            assert!(err.contains("punch a hole"), "{err}");
        }
        // Taking away access the wildcard does not grant is fine.
        let ok = filter(&[
            all(false),
            rule(true, 'c', Some(1), None, "m"),
            c(true, 1, 3, "rw"),
            c(false, 1, 3, "w"),
        ]);
        assert!(ok("c 1:3", "r") && !ok("c 1:3", "w"));
    }

    #[test]
    fn invalid_rules_are_errors() {
        assert!(program(&[c(true, 1, 1 << 32, "r")]).is_err());
        assert!(program(&[rule(true, 'p', None, None, "r")]).is_err());
        assert!(program(&[c(true, 1, 3, "rx")]).is_err());
        assert!(program(&[c(true, 1, 3, "")]).is_err());
    }

    #[test]
    fn numbers_above_i32_max_compare_as_u32() {
        let big = 0xffff_fff0u32;
        let ok = filter(&[all(false), c(true, i64::from(big), 0, "r")]);
        let prog = program(&[all(false), c(true, i64::from(big), 0, "r")]).expect("compiles");
        assert!(run(&prog, DEV_CHAR, big, 0, ACC_READ));
        assert!(!run(&prog, DEV_CHAR, big - 1, 0, ACC_READ));
        assert!(!ok("c 1:0", "r"));
    }

    #[test]
    fn encoding_is_struct_bpf_insn() {
        let first = Insn::new(op::LDX_MEM_W, R_MAJOR, R_CTX, 4, 0);
        let want = if cfg!(target_endian = "little") {
            [0x61, 0x14, 4, 0, 0, 0, 0, 0]
        } else {
            [0x61, 0x41, 0, 4, 0, 0, 0, 0]
        };
        assert_eq!(first.to_bytes(), want);
        let prog = program(&[all(true)]).expect("compiles");
        assert_eq!(encode(&prog).len(), prog.len() * 8);
    }

    /// Rule lists that every program test above uses, for the kernel test.
    fn samples() -> Vec<Vec<DeviceRule>> {
        vec![
            vec![],
            with_defaults(vec![all(true)]),
            with_defaults(vec![
                all(false),
                c(true, 1, 11, "r"),
                rule(true, 'c', Some(1), None, "w"),
            ]),
            with_defaults(vec![all(true), c(false, 1, 11, "w")]),
            vec![all(false), c(true, 0xffff_fff0, 0, "r")],
        ]
    }

    /// A cgroup2 directory for the kernel test, removed on drop.
    struct TestCgroup(std::path::PathBuf);

    impl Drop for TestCgroup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }

    fn test_cgroup() -> Option<TestCgroup> {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
        let mnt = mounts
            .lines()
            .map(|l| l.split(' ').collect::<Vec<_>>())
            .find(|f| f.len() > 3 && f[2] == "cgroup2" && f[3].starts_with("rw"))?[1]
            .to_string();
        let dir = Path::new(&mnt).join(format!("rrun-ebpf-test-{}", std::process::id()));
        std::fs::create_dir(&dir).ok()?;
        Some(TestCgroup(dir))
    }

    /// Open /dev/zero for reading and for writing in a shell moved into the
    /// cgroup: "r-ok w-denied" and so on.
    fn opens_in(cg: &Path) -> String {
        let script = r#"echo $$ > "$1/cgroup.procs" || exit 9
            if true 2>/dev/null 3</dev/zero; then echo ok; else echo denied; fi
            if true 2>/dev/null 3>/dev/zero; then echo ok; else echo denied; fi"#;
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", script, "sh"])
            .arg(cg)
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// On a host with a writable cgroup2 mount (the hybrid one has it at
    /// /sys/fs/cgroup/unified), the kernel accepts the programs and enforces
    /// them, and a second attach replaces the first.
    #[test]
    fn the_kernel_loads_attaches_and_replaces_the_filter() {
        let Some(cg) = test_cgroup() else {
            eprintln!("skipped: not root, or no writable cgroup2 mount");
            return;
        };
        match load(&encode(&program(&[]).expect("compiles"))) {
            Err(e) if e.starts_with("operation not permitted") => {
                eprintln!("skipped: BPF_PROG_LOAD not permitted here");
                return;
            }
            r => drop(r.expect("loads")),
        }
        for rules in samples() {
            load(&encode(&program(&rules).expect("compiles"))).expect("the verifier accepts it");
        }
        // /dev/null for the shell, /dev/zero as asked (not the default rules:
        // they allow /dev/zero).
        let zero_r = |access: &str| vec![all(false), c(true, 1, 3, "rwm"), c(true, 1, 5, access)];
        attach(&cg.0, &zero_r("r")).expect("attaches");
        assert_eq!(opens_in(&cg.0), "ok denied");
        attach(&cg.0, &zero_r("rw")).expect("attaches again");
        assert_eq!(opens_in(&cg.0), "ok ok");
        let dir = nix::fcntl::open(&cg.0, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())
            .expect("open");
        assert_eq!(
            attached_ids(dir.as_fd()).expect("query").len(),
            1,
            "the first program is gone"
        );
        assert_eq!(rrun_programs(dir.as_fd()).expect("query").len(), 1);
    }

    #[test]
    fn a_verifier_error_is_reported() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        // Returns without setting r0.
        let bad = encode(&[Insn::new(op::EXIT, 0, 0, 0, 0)]);
        match load(&bad) {
            Ok(_) => panic!("the verifier accepted a program that does not set r0"),
            Err(e) if e.starts_with("operation not permitted") => {}
            Err(e) => assert!(e.contains("verifier: ") && e.contains("R0 !read_ok"), "{e}"),
        }
    }
}
