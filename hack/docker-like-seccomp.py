#!/usr/bin/env python3
"""docker-like-seccomp.py [MAX_NR] - print a seccomp profile shaped like
Docker's default (written from scratch for rrun's tests and benchmark):
defaultAction SCMP_ACT_ERRNO, three x86 architectures, a few hundred syscall
names in allow rules, conditional rules on personality/clone/socket, and a
deny list of administrative syscalls. Syscall names come from the installed
kernel headers; names with a number >= MAX_NR (if given) are left out, so a
test can call a newer syscall the profile does not know."""
import json, re, sys

DENY = {
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "clone", "clone3",
    "create_module", "delete_module", "finit_module", "get_kernel_syms", "get_mempolicy",
    "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl",
    "lookup_dcookie", "mbind", "mount", "mount_setattr", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "move_pages", "name_to_handle_at", "nfsservctl",
    "open_by_handle_at", "perf_event_open", "personality", "pivot_root", "process_vm_readv",
    "process_vm_writev", "ptrace", "query_module", "quotactl", "reboot", "request_key",
    "set_mempolicy", "setns", "settimeofday", "socket", "swapon", "swapoff", "sysfs",
    "_sysctl", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old",
}

def names(max_nr):
    text = open("/usr/include/x86_64-linux-gnu/asm/unistd_64.h").read()
    out = []
    for name, nr in re.findall(r"#define __NR_(\w+)\s+(\d+)", text):
        if max_nr is None or int(nr) < max_nr:
            out.append(name)
    return sorted(set(out) - DENY)

def main():
    max_nr = int(sys.argv[1]) if len(sys.argv) > 1 else None
    allowed = names(max_nr)
    rules = [{"names": allowed[i:i + 12], "action": "SCMP_ACT_ALLOW"} for i in range(0, len(allowed), 12)]
    rules += [
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]}
        for v in (0, 8, 131072, 131080, 4294967295)
    ]
    # clone without namespace flags (the mask of CLONE_NEW*).
    rules.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]})
    rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38})
    # Any socket family but AF_VSOCK (40).
    rules.append({"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]})
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": rules,
    }
    json.dump(profile, sys.stdout, indent=1)

main()
