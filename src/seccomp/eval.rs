//! Run a compiled seccomp program on one syscall, as the kernel would: rrun
//! asks whether the container's filter lets through the few syscalls it
//! still makes after loading it (the start trampoline's: process/trampoline.rs).
//! Only the classic BPF subset the kernel accepts for seccomp; anything else
//! gives no answer, and the caller takes the cautious path.

/// The kernel's struct seccomp_data.
pub struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    /// The 32-bit word at `off`, as BPF_LD|BPF_W|BPF_ABS reads it.
    fn word(&self, off: u32) -> Option<u32> {
        let mut bytes = [0u8; 64];
        bytes[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        bytes[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        bytes[8..16].copy_from_slice(&self.instruction_pointer.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            bytes[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let off = off as usize;
        if off % 4 != 0 || off + 4 > bytes.len() {
            return None;
        }
        let mut w = [0u8; 4];
        w.copy_from_slice(&bytes[off..off + 4]);
        Some(u32::from_ne_bytes(w))
    }
}

const SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;

/// A compiled program, decoded once: (code, jt, jf, k) per instruction.
pub struct Program(Vec<(u16, u8, u8, u32)>);

impl Program {
    /// Decode the bytes libseccomp (or the cache) gives.
    pub fn decode(bpf: &[u8]) -> Program {
        Program(
            bpf.chunks_exact(8)
                .map(|c| {
                    (
                        u16::from_ne_bytes([c[0], c[1]]),
                        c[2],
                        c[3],
                        u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                    )
                })
                .collect(),
        )
    }

    /// Does the program let the syscall run (SCMP_ACT_ALLOW or
    /// SCMP_ACT_LOG)? No answer (false) for a program this evaluator cannot
    /// follow.
    pub fn allows(&self, data: &SeccompData) -> bool {
        self.action_is(data, &[SECCOMP_RET_ALLOW, SECCOMP_RET_LOG])
    }

    /// Does the caller go on: the syscall runs, or fails with an errno
    /// (SCMP_ACT_ERRNO)? For calls whose failure the caller ignores.
    pub fn returns(&self, data: &SeccompData) -> bool {
        self.action_is(
            data,
            &[SECCOMP_RET_ALLOW, SECCOMP_RET_LOG, SECCOMP_RET_ERRNO],
        )
    }

    fn action_is(&self, data: &SeccompData, actions: &[u32]) -> bool {
        self.run(data)
            .is_some_and(|ret| actions.contains(&(ret & SECCOMP_RET_ACTION_FULL)))
    }

    /// The value the program returns for `data`, None if it does something
    /// seccomp programs cannot (or this evaluator does not know).
    pub fn run(&self, data: &SeccompData) -> Option<u32> {
        run(&self.0, data)
    }
}

fn run(prog: &[(u16, u8, u8, u32)], data: &SeccompData) -> Option<u32> {
    let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
    let mut pc = 0usize;
    // Jumps only go forward: at most one step per instruction.
    for _ in 0..prog.len() {
        let &(code, jt, jf, k) = prog.get(pc)?;
        pc += 1;
        match code {
            0x20 => a = data.word(k)?,                // ld [k]
            0x00 => a = k,                            // ld #k
            0x01 => x = k,                            // ldx #k
            0x60 => a = *mem.get(k as usize)?,        // ld M[k]
            0x61 => x = *mem.get(k as usize)?,        // ldx M[k]
            0x02 => *mem.get_mut(k as usize)? = a,    // st M[k]
            0x03 => *mem.get_mut(k as usize)? = x,    // stx M[k]
            0x07 => x = a,                            // tax
            0x87 => a = x,                            // txa
            0x06 => return Some(k),                   // ret #k
            0x16 => return Some(a),                   // ret a
            0x05 => pc = pc.checked_add(k as usize)?, // ja
            0x15 | 0x25 | 0x35 | 0x45 | 0x1d | 0x2d | 0x3d | 0x4d => {
                let v = if code & 0x08 == 0 { k } else { x };
                let taken = match code & 0xf0 {
                    0x10 => a == v,
                    0x20 => a > v,
                    0x30 => a >= v,
                    _ => a & v != 0,
                };
                pc += usize::from(if taken { jt } else { jf });
            }
            c if c & 0x07 == 0x04 => a = alu(c, a, if c & 0x08 == 0 { k } else { x })?,
            _ => return None,
        }
    }
    None
}

/// BPF_ALU: the operation in bits 4-7, on A and K or X.
fn alu(code: u16, a: u32, v: u32) -> Option<u32> {
    Some(match code & 0xf0 {
        0x00 => a.wrapping_add(v),
        0x10 => a.wrapping_sub(v),
        0x20 => a.wrapping_mul(v),
        0x30 => a.checked_div(v)?,
        0x40 => a | v,
        0x50 => a & v,
        0x60 => a.checked_shl(v).unwrap_or(0),
        0x70 => a.checked_shr(v).unwrap_or(0),
        0x80 => a.wrapping_neg(),
        0x90 => a.checked_rem(v)?,
        0xa0 => a ^ v,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{Program, SeccompData, SECCOMP_RET_ALLOW};

    fn allows(bpf: &[u8], data: &SeccompData) -> bool {
        Program::decode(bpf).allows(data)
    }

    fn run(bpf: &[u8], data: &SeccompData) -> Option<u32> {
        Program::decode(bpf).run(data)
    }
    use oci_spec::runtime::LinuxSeccomp;

    fn profile(json: serde_json::Value) -> Vec<u8> {
        let s: LinuxSeccomp = serde_json::from_value(json).expect("profile");
        super::super::compile(&s).expect("compile")
    }

    fn call(nr: i64, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr: nr as i32,
            arch: super::super::native_audit_arch(),
            instruction_pointer: 0,
            args,
        }
    }

    #[test]
    fn follows_libseccomp_programs() {
        let bpf = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["getpid"], "action": "SCMP_ACT_LOG"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}
            ]
        }));
        let none = [0; 6];
        assert!(allows(&bpf, &call(libc::SYS_read, none)));
        assert!(allows(&bpf, &call(libc::SYS_write, none)));
        assert!(
            allows(&bpf, &call(libc::SYS_getpid, none)),
            "LOG lets it run"
        );
        assert!(!allows(&bpf, &call(libc::SYS_execveat, none)));
        assert!(allows(
            &bpf,
            &call(libc::SYS_personality, [8, 0, 0, 0, 0, 0])
        ));
        assert!(!allows(
            &bpf,
            &call(libc::SYS_personality, [9, 0, 0, 0, 0, 0])
        ));
        assert!(allows(&bpf, &call(libc::SYS_clone, [0x11, 0, 0, 0, 0, 0])));
        assert!(!allows(
            &bpf,
            &call(libc::SYS_clone, [0x1000_0000, 0, 0, 0, 0, 0])
        ));
        let errno = |nr| run(&bpf, &call(nr, none)).expect("an answer");
        assert_eq!(errno(libc::SYS_open), 0x0005_0000 | libc::EPERM as u32);
        // Newer than every syscall the profile names: the ENOSYS stub.
        assert_eq!(errno(libc::SYS_execveat), 0x0005_0000 | libc::ENOSYS as u32);
    }

    #[test]
    fn a_default_allow_profile_denies_what_it_names() {
        let bpf = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
        }));
        assert!(allows(&bpf, &call(libc::SYS_execve, [0; 6])));
        assert!(!allows(&bpf, &call(libc::SYS_execveat, [0; 6])));
        let wrong_arch = SeccompData {
            arch: 0x4000_0003,
            ..call(libc::SYS_execve, [0; 6])
        };
        assert!(!allows(&bpf, &wrong_arch), "bad architecture: killed");
    }

    #[test]
    fn gives_no_answer_for_what_it_cannot_follow() {
        // ld [65] (out of seccomp_data), then ret allow.
        let mut bpf = Vec::new();
        for (code, k) in [(0x20u16, 65u32), (0x06, SECCOMP_RET_ALLOW)] {
            bpf.extend_from_slice(&code.to_ne_bytes());
            bpf.extend_from_slice(&[0, 0]);
            bpf.extend_from_slice(&k.to_ne_bytes());
        }
        assert_eq!(run(&bpf, &call(0, [0; 6])), None);
        assert!(!allows(&bpf, &call(0, [0; 6])));
        assert!(!allows(&[], &call(0, [0; 6])), "an empty program");
    }
}
