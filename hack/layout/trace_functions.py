#!/usr/bin/env python3
"""trace_functions.py BIN OUT -- CMD...: which functions of BIN a workload
executes, exactly, and in which process.

BIN must have its symbols (a build with strip = false). CMD runs under
ptrace with RRUN_HOT set to a copy of BIN; every process that executes the
copy gets a one-shot breakpoint (int3) on the first byte of every function,
written into its text through /proc/<pid>/mem; a breakpoint that fires is
recorded, restored and never fires again in that process. Forked processes
inherit the breakpoints not yet fired. x86_64 only.

OUT gets one line per executed function: "<role> <symbol>", role being
`parent:<command>` for the rrun process started as `rrun ... <command>`, or
`child:<command>` for a process it forked (the init, hooks)."""
import ctypes
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

PTRACE_TRACEME, PTRACE_CONT, PTRACE_GETREGS, PTRACE_SETREGS = 0, 7, 12, 13
PTRACE_SETOPTIONS, PTRACE_GETEVENTMSG = 0x4200, 0x4201
OPTIONS = 0x02 | 0x04 | 0x08 | 0x10 | 0x100000  # FORK VFORK CLONE EXEC EXITKILL
EVENT_EXEC = 4
COMMANDS = {"create", "start", "run", "exec", "delete", "kill", "state", "list", "ps",
            "events", "pause", "resume", "update", "features", "spec", "checkpoint",
            "restore"}

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in (
        "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax "
        "rip cs eflags rsp ss fs_base gs_base ds es fs gs").split()]


def ptrace(req, pid, addr=0, data=0):
    r = libc.ptrace(req, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data))
    if r == -1:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def text_segment(path):
    with open(path, "rb") as f:
        head = f.read(4096)
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        for i in range(phnum):
            typ, flags, off, vaddr, _, filesz, _, _ = struct.unpack_from(
                "<IIQQQQQQ", head, phoff + i * phentsize)
            if typ == 1 and flags & 1:
                f.seek(off)
                return vaddr, f.read(filesz)
    raise SystemExit("no executable segment")


def functions(path, lo, hi):
    out = subprocess.run(["nm", "-S", "--defined-only", path],
                         capture_output=True, text=True, check=True).stdout
    funcs = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in "tTwWiI" and int(p[1], 16) > 0:
            a = int(p[0], 16)
            if lo <= a < hi:
                funcs.setdefault(a, p[3])
    return funcs


def command_of(pid):
    try:
        args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        return "?"
    for a in args[1:]:
        if a.decode(errors="replace") in COMMANDS:
            return a.decode()
    return "version" if b"--version" in args else "?"


def parent_of(pid):
    """PPid from /proc/<pid>/status (None if it is gone)."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def plant(pid, offset, data):
    """Write into a stopped tracee's memory; False if it died meanwhile."""
    try:
        with open(f"/proc/{pid}/mem", "r+b", buffering=0) as m:
            m.seek(offset)
            m.write(data)
        return True
    except OSError:
        return False


def main():
    binp, out = sys.argv[1], sys.argv[2]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    work = tempfile.mkdtemp(prefix="rrun-trace.")
    try:
        trace(binp, out, cmd, os.path.join(work, "rrun"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def trace(binp, out, cmd, copy):
    shutil.copy(binp, copy)
    copy_st = os.stat(copy)
    base, text = text_segment(copy)
    funcs = functions(copy, base, base + len(text))
    planted = bytearray(text)
    for a in funcs:
        planted[a - base] = 0xCC
    planted = bytes(planted)

    role = {}          # pid -> role string, for processes running the copy
    hits = set()       # (role, address)
    pid0 = os.fork()
    if pid0 == 0:
        try:
            ptrace(PTRACE_TRACEME, 0)
            os.execvpe(cmd[0], cmd, dict(os.environ, RRUN_HOT=copy))
        finally:
            os._exit(127)
    os.waitpid(pid0, 0)
    ptrace(PTRACE_SETOPTIONS, pid0, 0, OPTIONS)
    ptrace(PTRACE_CONT, pid0)
    status_main = None
    while True:
        try:
            pid, status = os.waitpid(-1, 0x40000000)
        except ChildProcessError:
            break
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            role.pop(pid, None)
            if pid == pid0:
                status_main = status
            continue
        if not os.WIFSTOPPED(status):
            continue
        sig = os.WSTOPSIG(status)
        event = status >> 16
        deliver = 0
        if sig == signal.SIGTRAP and event == EVENT_EXEC:
            # The copy itself, or a read-only bind of it (re-execution).
            try:
                st = os.stat(f"/proc/{pid}/exe")
                ours = (st.st_dev, st.st_ino) == (copy_st.st_dev, copy_st.st_ino)
            except OSError:
                ours = False
            if ours and plant(pid, base, planted):
                role[pid] = f"parent:{command_of(pid)}"
            else:
                role.pop(pid, None)
        elif sig == signal.SIGTRAP and event in (1, 2, 3):  # fork, vfork, clone
            child = ctypes.c_ulong()
            libc.ptrace(PTRACE_GETEVENTMSG, pid, None, ctypes.byref(child))
            if pid in role:
                role[child.value] = role[pid].replace("parent:", "child:")
        elif sig == signal.SIGSTOP and event == 0 and pid not in role and pid != pid0:
            # A new child's first stop can come before its parent's fork
            # event: inherit the role now, before it runs into a breakpoint.
            parent = parent_of(pid)
            if parent in role:
                role[pid] = role[parent].replace("parent:", "child:")
        elif sig == signal.SIGTRAP and event == 0 and pid in role:
            regs = Regs()
            try:
                ptrace(PTRACE_GETREGS, pid, 0, ctypes.addressof(regs))
            except OSError:
                continue  # gone
            addr = regs.rip - 1
            if addr in funcs:
                hits.add((role[pid], addr))
                plant(pid, addr, text[addr - base:addr - base + 1])
                regs.rip = addr
                try:
                    ptrace(PTRACE_SETREGS, pid, 0, ctypes.addressof(regs))
                except OSError:
                    continue
            else:
                deliver = sig
        elif event == 0 and sig != signal.SIGSTOP:
            deliver = sig
        try:
            ptrace(PTRACE_CONT, pid, 0, deliver)
        except OSError:
            pass
    with open(out, "w") as f:
        for r, a in sorted(hits, key=lambda h: (h[0], h[1])):
            f.write(f"{r} {funcs[a]}\n")
    print(f"trace_functions: {len({a for _, a in hits})} of {len(funcs)} functions executed",
          file=sys.stderr)
    if status_main is None or not os.WIFEXITED(status_main) or os.WEXITSTATUS(status_main):
        raise SystemExit("trace_functions: the workload failed")


main()
