//! The ENOSYS stub (runc's "patchbpf"): a syscall newer than every syscall
//! the profile names returns ENOSYS instead of the default action, so that a
//! libc falls back to an older syscall (e.g. clone3 -> clone) instead of
//! failing with EPERM. A few classic BPF instructions go before libseccomp's
//! program: per architecture, "if nr > max known to the profile: ENOSYS".

use libseccomp::{ScmpArch, ScmpSyscall};

const LD_W_ABS: u16 = 0x20;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JSET_K: u16 = 0x45;
const JMP_JA: u16 = 0x05;
const RET_K: u16 = 0x06;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const RET_ERRNO_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

#[derive(Clone, Copy)]
enum Ins {
    Ld(u32),
    /// Conditional jump: (opcode, k, label if true, label if false).
    Jmp(u16, u32, usize, usize),
    Ja(usize),
    Ret(u32),
    Label(usize),
}

/// Labels: 0 = the libseccomp program, 1 = return ENOSYS, others free.
const FILTER: usize = 0;
const ENOSYS: usize = 1;

fn max_nr(names: &[String], arch: ScmpArch) -> Option<u32> {
    names
        .iter()
        .filter_map(|n| ScmpSyscall::from_name_by_arch(n, arch).ok())
        .map(|s| i32::from(s) as u32)
        .filter(|nr| (*nr as i32) >= 0)
        .max()
}

/// The stub for the architectures in the filter (x86 family; others get none).
fn stub(arches: &[ScmpArch], names: &[String]) -> Vec<Ins> {
    let mut p = vec![Ins::Ld(OFF_ARCH)];
    let mut next_label = 2;
    let mut blocks = Vec::new();
    let has = |a: ScmpArch| {
        arches.contains(&a) || (a == ScmpArch::native() && arches.contains(&ScmpArch::Native))
    };
    if has(ScmpArch::X8664) || has(ScmpArch::X32) {
        let label = next_label;
        next_label += 1;
        p.push(Ins::Jmp(JMP_JEQ_K, AUDIT_ARCH_X86_64, label, label + 1));
        p.push(Ins::Label(label + 1));
        next_label += 1;
        let mut b = vec![Ins::Label(label), Ins::Ld(OFF_NR)];
        let x32 = next_label;
        next_label += 1;
        b.push(Ins::Jmp(JMP_JSET_K, X32_SYSCALL_BIT, x32, x32 + 1));
        next_label += 1;
        b.push(Ins::Label(x32 + 1));
        match max_nr(names, ScmpArch::X8664).filter(|_| has(ScmpArch::X8664)) {
            Some(max) => b.push(Ins::Jmp(JMP_JGT_K, max, ENOSYS, FILTER)),
            None => b.push(Ins::Ja(FILTER)),
        }
        b.push(Ins::Label(x32));
        match max_nr(names, ScmpArch::X32).filter(|_| has(ScmpArch::X32)) {
            Some(max) => b.push(Ins::Jmp(JMP_JGT_K, max, ENOSYS, FILTER)),
            None => b.push(Ins::Ja(FILTER)),
        }
        blocks.push(b);
    }
    if has(ScmpArch::X86) {
        let label = next_label;
        p.push(Ins::Jmp(JMP_JEQ_K, AUDIT_ARCH_I386, label, label + 1));
        p.push(Ins::Label(label + 1));
        let mut b = vec![Ins::Label(label), Ins::Ld(OFF_NR)];
        match max_nr(names, ScmpArch::X86) {
            Some(max) => b.push(Ins::Jmp(JMP_JGT_K, max, ENOSYS, FILTER)),
            None => b.push(Ins::Ja(FILTER)),
        }
        blocks.push(b);
    }
    p.push(Ins::Ja(FILTER));
    for b in blocks {
        p.extend(b);
    }
    p.push(Ins::Label(ENOSYS));
    p.push(Ins::Ret(RET_ERRNO_ENOSYS));
    p.push(Ins::Label(FILTER));
    p
}

fn encode(code: u16, jt: u8, jf: u8, k: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..2].copy_from_slice(&code.to_ne_bytes());
    out[2] = jt;
    out[3] = jf;
    out[4..].copy_from_slice(&k.to_ne_bytes());
    out
}

/// Resolve labels and emit instructions (offsets relative to the next one).
fn assemble(prog: &[Ins]) -> Option<Vec<u8>> {
    let mut pos = std::collections::HashMap::new();
    let mut n = 0usize;
    for ins in prog {
        match ins {
            Ins::Label(l) => {
                pos.insert(*l, n);
            }
            _ => n += 1,
        }
    }
    let mut out = Vec::with_capacity(n * 8);
    let mut i = 0usize;
    let rel = |target: usize, at: usize| pos.get(&target).map(|t| t - at - 1);
    for ins in prog {
        match *ins {
            Ins::Label(_) => continue,
            Ins::Ld(off) => out.extend_from_slice(&encode(LD_W_ABS, 0, 0, off)),
            Ins::Ret(k) => out.extend_from_slice(&encode(RET_K, 0, 0, k)),
            Ins::Ja(t) => out.extend_from_slice(&encode(JMP_JA, 0, 0, rel(t, i)? as u32)),
            Ins::Jmp(code, k, t, f) => {
                let (jt, jf) = (rel(t, i)?, rel(f, i)?);
                out.extend_from_slice(&encode(
                    code,
                    u8::try_from(jt).ok()?,
                    u8::try_from(jf).ok()?,
                    k,
                ));
            }
        }
        i += 1;
    }
    Some(out)
}

/// Put the stub in front of libseccomp's program (unchanged if it cannot).
pub fn patch(program: &[u8], arches: &[ScmpArch], names: &[String]) -> Vec<u8> {
    match assemble(&stub(arches, names)) {
        Some(mut head) => {
            head.extend_from_slice(program);
            head
        }
        None => program.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(b: &[u8], i: usize) -> (u16, u8, u8, u32) {
        let s = &b[i * 8..i * 8 + 8];
        (
            u16::from_ne_bytes([s[0], s[1]]),
            s[2],
            s[3],
            u32::from_ne_bytes([s[4], s[5], s[6], s[7]]),
        )
    }

    #[test]
    fn stub_checks_the_highest_known_syscall_per_arch() {
        let names = vec!["read".to_string(), "openat".to_string()];
        let out = patch(&[0u8; 8], &[ScmpArch::X8664], &names);
        assert_eq!(out.len() % 8, 0);
        assert_eq!(insn(&out, 0), (LD_W_ABS, 0, 0, OFF_ARCH));
        let max =
            i32::from(ScmpSyscall::from_name_by_arch("openat", ScmpArch::X8664).expect("openat"))
                as u32;
        let n = out.len() / 8;
        let has_jgt = (0..n).any(|i| insn(&out, i).0 == JMP_JGT_K && insn(&out, i).3 == max);
        assert!(has_jgt, "compares against openat's number {max}");
        assert!((0..n).any(|i| insn(&out, i) == (RET_K, 0, 0, RET_ERRNO_ENOSYS)));
        // The original program follows, intact.
        assert_eq!(&out[out.len() - 8..], &[0u8; 8]);
    }

    #[test]
    fn jumps_stay_inside_the_program() {
        let names = vec!["read".to_string()];
        let out = patch(
            &[0u8; 8],
            &[ScmpArch::X8664, ScmpArch::X86, ScmpArch::X32],
            &names,
        );
        let n = out.len() / 8;
        for i in 0..n {
            let (code, jt, jf, k) = insn(&out, i);
            if code & 0x07 == 0x05 {
                let far = if code == JMP_JA {
                    k as usize
                } else {
                    jt.max(jf) as usize
                };
                assert!(i + 1 + far < n, "instruction {i} jumps past the end");
            }
        }
    }
}
