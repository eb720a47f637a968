#!/usr/bin/env python3
"""bench.py - the driver behind hack/bench/bench.sh (run that, not this).

Times rrun, runc and crun (and, where it applies, the kernel floor built from
floor.c) interleaved: every iteration runs each runtime once, in an order that
rotates, so machine noise hits all alike. Each call is timed with a monotonic
clock around the whole process (spawn to exit) and has a timeout: a call that
does not return in time is killed, counted as a hang, and fails the run.
Prints one markdown table (and writes it to --out)."""
import argparse
import ctypes
import datetime
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

WRAP = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "no-unified.sh")]
FIGURES = ["lifecycle", "run", "seccomp", "exec", "parallel", "rss", "size"]


def now():
    return time.monotonic_ns()


def ms(ns):
    return ns / 1e6


class Runtime:
    def __init__(self, name, path, root, wrap):
        self.name, self.path, self.root = name, path, root
        self.prefix = (WRAP if wrap else []) + [path, "--root", root]
        self.floor = False

    def cmd(self, *args):
        return self.prefix + list(args)


class Floor:
    """The kernel floor as a pseudo-runtime: `run` only."""
    floor = True

    def __init__(self, name, binary, rootfs, cg, wrap):
        self.name = name
        self.binary, self.rootfs, self.cg = binary, rootfs, cg  # cg: (cpus, mems, [parent dirs])
        self.wrap = wrap

    def run_cmd(self, cid):
        cpus, mems, parents = self.cg
        return (WRAP if self.wrap else []) + [self.binary, self.rootfs, cpus, mems] + \
            [os.path.join(p, cid) for p in parents]


class Bench:
    def __init__(self, a):
        self.a = a
        self.tag = a.tag
        self.hangs, self.fails = {}, {}
        self.samples = {}   # (figure, who) -> [values]
        self.errlog = open(os.path.join(a.work, "stderr.log"), "a+b")
        self.shown = 0

    # ---- bookkeeping -------------------------------------------------
    def add(self, fig, who, v):
        self.samples.setdefault((fig, who), []).append(v)

    def count(self, table, who):
        table[who] = table.get(who, 0) + 1

    def report_failure(self, who, argv, what):
        self.count(self.fails if what != "hang" else self.hangs, who)
        if self.shown < 12:
            self.shown += 1
            self.errlog.flush()
            self.errlog.seek(0)
            tail = self.errlog.read().decode(errors="replace").strip().splitlines()[-3:]
            print(f"bench: {who}: {what}: {' '.join(argv)}", file=sys.stderr)
            for line in tail:
                print(f"bench:   {line}", file=sys.stderr)

    def call(self, who, argv, timeout=None, gap=True):
        """Run argv to completion; its duration in ns, or None on failure/hang.
        With --gap, idle first (outside the timed region)."""
        if gap and self.a.gap:
            time.sleep(self.a.gap / 1000)
        self.errlog.seek(0)
        self.errlog.truncate()
        t0 = now()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=self.errlog, start_new_session=True)
        rc = wait(p, timeout or self.a.timeout)
        t1 = now()
        if rc is None:
            kill_group(p)
            self.report_failure(who, argv, "hang")
            return None
        if rc != 0:
            self.report_failure(who, argv, f"exit {rc}")
            return None
        return t1 - t0

    def quiet(self, argv, timeout=None):
        """An untimed call (setup, cleanup); True if it exited 0."""
        try:
            return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=timeout or self.a.timeout,
                                  start_new_session=True).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def order(self, items, i):
        k = i % len(items)
        return items[k:] + items[:k]

    # ---- figures -----------------------------------------------------
    def baseline(self):
        """What the driver itself costs: spawn and wait for /bin/true."""
        for _ in range(self.a.iterations):
            d = self.call("harness", ["/bin/true"])
            if d is not None:
                self.add("baseline", "harness", ms(d))

    def lifecycle(self, rts):
        for i in range(self.a.iterations):
            for rt in self.order(rts, i):
                self.one_lifecycle(rt, i)
        reap_all()

    def one_lifecycle(self, rt, i):
        cid = f"{self.tag}-lc{i}-{rt.name}"
        pf = os.path.join(self.a.work, cid + ".pid")
        if self.a.gap:
            time.sleep(self.a.gap / 1000)  # once, before the whole lifecycle
        t0 = now()
        if self.call(rt.name, rt.cmd("create", "--bundle", self.a.bundle, "--pid-file", pf, cid),
                     gap=False) is None:
            self.force_delete(rt, cid)
            return
        t1 = now()
        try:
            pid = int(open(pf).read().strip())
            pidfd = os.pidfd_open(pid)
        except (OSError, ValueError) as e:
            print(f"bench: {rt.name}: pid file {pf}: {e}", file=sys.stderr)
            self.count(self.fails, rt.name)
            self.force_delete(rt, cid)
            return
        os.unlink(pf)
        t1b = now()
        if self.call(rt.name, rt.cmd("start", cid), gap=False) is None:
            os.close(pidfd)
            self.force_delete(rt, cid)
            return
        t2 = now()
        r, _, _ = select.select([pidfd], [], [], self.a.timeout)
        os.close(pidfd)
        t3 = now()
        if not r:
            self.report_failure(rt.name, ["wait", "pid", str(pid)], "hang")
            self.force_delete(rt, cid)
            return
        reap(pid)
        t3b = now()
        if self.call(rt.name, rt.cmd("delete", cid), gap=False) is None:
            self.force_delete(rt, cid)
            return
        t4 = now()
        self.add("lifecycle", rt.name, ms(t4 - t0))
        self.add("lc-create", rt.name, ms(t1 - t0))
        self.add("lc-start", rt.name, ms(t2 - t1b))
        self.add("lc-wait", rt.name, ms(t3 - t2))
        self.add("lc-delete", rt.name, ms(t4 - t3b))

    def run_once(self, who, fig, i, bundle):
        """One timed run; returns (wall ms, CPU ms or None), None if it failed."""
        cid = f"{self.tag}-{fig}{i}-{who.name}"
        argv = who.run_cmd(cid) if who.floor else who.cmd("run", "--bundle", bundle, cid)
        d = self.call(who.name, argv)
        if d is None:
            if not who.floor:
                self.force_delete(who, cid)
            return None
        self.add(fig, who.name, ms(d))
        cpu = CPU["last"]
        if cpu is not None:
            self.add(fig + "-cpu", who.name, cpu)
        return ms(d), cpu

    def seccomp_pair(self, rt, kind, i):
        """A seccomp run and a plain one back to back (the order alternates),
        so that what seccomp adds is measured pairwise, in the same moment."""
        runs = [(f"sc-{kind}", self.a.seccomp_bundle), (f"sc-{kind}-plain", self.a.bundle)]
        if i % 2:
            runs.reverse()
        got = {}
        for fig, bundle in runs:
            if kind == "cold":
                clear_caches(rt.root)
            got[fig] = self.run_once(rt, fig, i, bundle)
        sc, plain = got[f"sc-{kind}"], got[f"sc-{kind}-plain"]
        if sc is None or plain is None:
            return
        self.add(f"sc-{kind}-adds", rt.name, sc[0] - plain[0])
        if sc[1] is not None and plain[1] is not None:
            self.add(f"sc-{kind}-adds-cpu", rt.name, sc[1] - plain[1])

    def run(self, rts, floors):
        for i in range(self.a.iterations):
            for who in self.order(rts + floors, i):
                self.run_once(who, "run", i, self.a.bundle)
        reap_all()

    def seccomp(self, rts):
        # Cold: every runtime's cache emptied before each run (rrun keeps
        # compiled BPF in <root>/.rrun-seccomp; runc 1.1 and crun 1.8 keep none,
        # but any dot-entry in a root is removed all the same).
        # Each seccomp run is paired with a plain run of the same runtime.
        for i in range(self.a.iterations):
            for rt in self.order(rts, i):
                self.seccomp_pair(rt, "cold", i)
        # Warm: one untimed run each fills the caches, then the same loop.
        for rt in rts:
            self.quiet(rt.cmd("run", "--bundle", self.a.seccomp_bundle, f"{self.tag}-scw-{rt.name}"))
        for i in range(self.a.iterations):
            for rt in self.order(rts, i):
                self.seccomp_pair(rt, "warm", i)
        reap_all()

    def exec_(self, rts):
        up = []
        for rt in rts:
            cid = f"{self.tag}-x-{rt.name}"
            ok = self.call(rt.name, rt.cmd("run", "-d", "--bundle", self.a.sleep_bundle, cid)) is not None
            if ok and self.status(rt, cid) == "running":
                up.append((rt, cid))
            else:
                print(f"bench: {rt.name}: the exec container did not start", file=sys.stderr)
                self.count(self.fails, rt.name)
                self.force_delete(rt, cid)
        try:
            for i in range(self.a.iterations):
                for rt, cid in self.order(up, i):
                    d = self.call(rt.name, rt.cmd("exec", cid, "/bin/true"))
                    if d is not None:
                        self.add("exec", rt.name, ms(d))
        finally:
            for rt, cid in up:
                self.force_delete(rt, cid)
            reap_all()

    def parallel(self, rts, floor):
        n = self.a.parallel
        for r in range(self.a.rounds):
            for who in self.order(rts + [floor], r):
                ids = [f"{self.tag}-p{r}-{j}-{who.name}" for j in range(n)]
                argvs = [who.run_cmd(c) if who.floor else
                         who.cmd("run", "--bundle", self.a.bundle, c) for c in ids]
                self.errlog.seek(0)
                self.errlog.truncate()
                if self.a.gap:
                    time.sleep(self.a.gap / 1000)
                t0 = now()
                procs = [subprocess.Popen(a, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=self.errlog, start_new_session=True) for a in argvs]
                deadline = time.monotonic() + self.a.timeout * 3
                bad = 0
                for p, argv in zip(procs, argvs):
                    rc = wait(p, max(0.0, deadline - time.monotonic()))
                    if rc is None:
                        kill_group(p)
                        bad += 1
                        self.report_failure(who.name, argv, "hang")
                    elif rc != 0:
                        bad += 1
                        self.report_failure(who.name, argv, f"exit {rc}")
                t1 = now()
                if bad:
                    if not who.floor:
                        for c in ids:
                            self.force_delete(who, c)
                    continue
                self.add("parallel", who.name, n / (ms(t1 - t0) / 1000))
            reap_all()

    def rss(self, rts):
        for i in range(self.a.rss_reps):
            for rt in self.order(rts, i):
                cid = f"{self.tag}-m{i}-{rt.name}"
                out = os.path.join(self.a.work, "time-v.txt")
                # /usr/bin/time -v around the create command itself (inside
                # the per-call wrapper when --wrap-each).
                argv = rt.cmd("create", "--bundle", self.a.bundle, cid)
                k = len(rt.prefix) - 3
                argv = argv[:k] + ["/usr/bin/time", "-v", "-o", out] + argv[k:]
                if self.call(rt.name, argv) is not None:
                    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(out).read())
                    if m:
                        self.add("rss", rt.name, int(m.group(1)) / 1024)
                self.force_delete(rt, cid)
        reap_all()

    def size(self, rts):
        for rt in rts:
            self.add("size", rt.name, os.path.getsize(os.path.realpath(rt.path)) / (1024 * 1024))

    # ---- helpers -----------------------------------------------------
    def status(self, rt, cid):
        try:
            out = subprocess.run(rt.cmd("state", cid), capture_output=True, timeout=self.a.timeout,
                                 stdin=subprocess.DEVNULL)
            return json.loads(out.stdout).get("status")
        except (subprocess.TimeoutExpired, ValueError):
            return None

    def force_delete(self, rt, cid):
        if os.path.isdir(os.path.join(rt.root, cid)):
            self.quiet(rt.cmd("delete", "--force", cid))
        reap_all()

    def cleanup(self, rts):
        for rt in rts:
            if not os.path.isdir(rt.root):
                continue
            for cid in sorted(os.listdir(rt.root)):
                if not cid.startswith("."):
                    self.quiet(rt.cmd("delete", "--force", cid))
        reap_all()


CPU = {"last": None}


def wait(p, timeout):
    """Wait for p for at most timeout seconds; its exit code, or None. The
    CPU time (user + sys) of p and of the children it waited for goes to
    CPU["last"], in ms. (Popen.wait(timeout) polls with sleeps that double
    from 0.5 ms, which would round every duration up to 0.5 * (2^k - 1) ms:
    wait on a pidfd, then reap with wait4 for the rusage.)"""
    CPU["last"] = None
    fd = os.pidfd_open(p.pid)
    try:
        r, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if not r:
        return None
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    CPU["last"] = (ru.ru_utime + ru.ru_stime) * 1000
    return p.returncode


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        pass


def reap(pid):
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def reap_all():
    """Reap container inits that were orphaned to us (we are a subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def clear_caches(root):
    if os.path.isdir(root):
        for e in os.listdir(root):
            if e.startswith("."):
                shutil.rmtree(os.path.join(root, e), ignore_errors=True)


def v1_cgroup_parents():
    """Where a runtime that nests containers below its own cgroup (as rrun does
    on v1) makes them: (cpus, mems, [parent dir in each v1 hierarchy])."""
    own = {}
    for line in open("/proc/self/cgroup"):
        _, ctrls, path = line.rstrip("\n").split(":", 2)
        for c in ctrls.split(","):
            if c:
                own[c] = path
    parents, cpuset = [], None
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        sep = f.index("-")
        if f[sep + 1] != "cgroup":
            continue
        mp = f[4]
        opts = f[sep + 3].split(",")
        ctrl = next((o for o in opts if o in own), None)
        if ctrl is None:
            continue
        d = mp + own[ctrl].rstrip("/")
        parents.append(d)
        if "cpuset" in opts:
            cpuset = d
    if cpuset is None:
        raise SystemExit("bench: the kernel floor needs a v1 cpuset hierarchy (cgroup v1 or hybrid host)")
    cpus = open(os.path.join(cpuset, "cpuset.cpus")).read().strip()
    mems = open(os.path.join(cpuset, "cpuset.mems")).read().strip()
    return cpus, mems, parents


# ---- report ------------------------------------------------------------
def stats(v):
    return statistics.median(v), min(v), max(v)


def fmt(x):
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def cell(v):
    if not v:
        return "–"
    m, lo, hi = stats(v)
    if lo == hi:
        return fmt(m)
    return f"{fmt(m)} ({fmt(lo)}–{fmt(hi)})"


def table(b, names, a):
    S = b.samples

    def med(fig, who):
        v = S.get((fig, who))
        return statistics.median(v) if v else None

    def ratio(fig, who, base="crun"):
        x, y = med(fig, who), med(fig, base)
        return f"{x / y:.3g}×" if x is not None and y else "–"

    def target(ok):
        return "–" if ok is None else ("yes" if ok else "no")

    def cmp(fig, op, k, base="crun"):
        x, y = med(fig, "rrun"), med(fig, base)
        if x is None or y is None:
            return None
        return x <= k * y if op == "<=" else x >= k * y

    cols = names + ["floor"]
    rows = []

    def row(label, fig, tgt="", met=None, ratios=True, floor=False):
        cells = [cell(S.get((fig, n))) for n in names]
        cells.append(cell(S.get((fig, "floor"))) if floor else "–")
        r = [ratio(fig, "rrun"), ratio(fig, "runc")] if ratios else ["–", "–"]
        rows.append([label] + cells + r + [tgt, target(met) if tgt else ""])

    have = lambda fig: any((fig, n) in S for n in cols)
    if have("lifecycle"):
        row(f"lifecycle: create+start+wait+delete of /bin/true, ms", "lifecycle",
            "≤ 0.6× crun", cmp("lifecycle", "<=", 0.6))
        for step in ("create", "start", "wait", "delete"):
            row(f"  · {step}, ms", f"lc-{step}")
    if have("run"):
        row("run /bin/true (foreground), ms", "run", "≤ 0.6× crun", cmp("run", "<=", 0.6), floor=True)
        fl = med("run", "floor")
        if fl:
            cells = [f"{med('run', n) / fl:.3g}×" if med("run", n) else "–" for n in names]
            ok = med("run", "rrun") <= 1.5 * fl if med("run", "rrun") else None
            rows.append(["run ÷ kernel floor"] + cells + ["1×", "–", "–", "≤ 1.5× floor", target(ok)])
        row("  · CPU time (user+sys, with the children it waited for), ms", "run-cpu", floor=True)
        if S.get(("run", "floor-self")):
            rows.append(["  · kernel floor, child joins its cgroups itself (tasks ← 0), ms"] +
                        ["–"] * len(names) + [cell(S[("run", "floor-self")]), "–", "–", "", ""])
    if have("sc-cold"):
        row("run with Docker-like seccomp, cold, ms", "sc-cold")
        row("run with Docker-like seccomp, warm, ms", "sc-warm")
        def adds(fig):
            return [f"{x:+.2f}" if (x := med(fig, n)) is not None else "–" for n in names]
        for kind in ("cold", "warm"):
            x = med(f"sc-{kind}-adds", "rrun")
            ok = x <= 1.5 if x is not None else None
            rows.append([f"  · seccomp adds ({kind}; median of paired differences), ms"] +
                        adds(f"sc-{kind}-adds") + ["–", "–", "–", "≤ 1.5 ms", target(ok)])
        for kind in ("cold", "warm"):
            rows.append([f"  · seccomp adds CPU time ({kind}), ms"] + adds(f"sc-{kind}-adds-cpu") +
                        ["–", "–", "–", "", ""])
    if have("exec"):
        row("exec /bin/true into a running container, ms", "exec", "≤ 0.6× crun", cmp("exec", "<=", 0.6))
    if have("parallel"):
        row(f"{a.parallel} × run in parallel, containers/s (higher is better)", "parallel",
            "≥ 1.5× crun", cmp("parallel", ">=", 1.5), floor=True)
    if have("rss"):
        row("peak RSS of create (time -v), MiB", "rss", "≤ crun", cmp("rss", "<=", 1.0))
    if have("size"):
        row("binary size, MiB", "size")
    cells = [f"{b.hangs.get(n, 0)} / {b.fails.get(n, 0)}" for n in names]
    cells.append(f"{b.hangs.get('floor', 0)} / {b.fails.get('floor', 0)} "
                 f"(self-attach: {b.hangs.get('floor-self', 0)} / {b.fails.get('floor-self', 0)})")
    rows.append(["hangs / failures"] + cells + ["–", "–", "0 hangs", target(b.hangs.get("rrun", 0) == 0)])

    head = ["figure"] + cols + ["rrun ÷ crun", "runc ÷ crun", "rrun target", "met"]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 3) + ["---", "---"]) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def header(a, rts, b):
    ver = {}
    for rt in rts:
        try:
            v = subprocess.run([rt.path, "--version"], capture_output=True, text=True, timeout=10).stdout
            ver[rt.name] = v.splitlines()[0] if v else "?"
            commit = re.search(r"^commit: (\S+)", v, re.M)
            if rt.name == "rrun" and commit:
                ver[rt.name] += f", commit {commit.group(1)}"
        except (OSError, subprocess.TimeoutExpired):
            ver[rt.name] = "?"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    base = b.samples.get(("baseline", "harness"))
    lines = [
        f"Command: `{a.command}`",
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; kernel {platform.release()}; "
        f"{os.cpu_count()} × {cpu}; load average {a.load_start} at start "
        f"({' '.join(open('/proc/loadavg').read().split()[:3])} at end, raised by the parallel figure itself).",
        f"{ver.get('rrun')} ({a.rrun_path}); {ver.get('runc')}; {ver.get('crun')}.",
        f"{a.iterations} iterations per figure, interleaved (runtime order rotates each iteration); "
        f"parallel: {a.rounds} round(s) of {a.parallel}; peak RSS: {a.rss_reps} create(s) each. "
        f"Cells: median (min–max)." + (f" {a.gap:g} ms idle before every timed command (before each lifecycle, each parallel batch)." if a.gap else ""),
        ("Every call wrapped on its own: `unshare --mount --propagation private sh -c 'umount "
         "/sys/fs/cgroup/unified; exec \"$0\" \"$@\"' RUNTIME ARGS` (its cost is in every figure)."
         if a.wrap_each else
         "All runtimes and the floor run inside one such wrapper (a private mount namespace without "
         "/sys/fs/cgroup/unified, as crun needs on this hybrid host); the wrapper's own cost is in no figure."),
    ]
    if base:
        lines.append(f"Harness overhead (the driver spawning and waiting for /bin/true, in every figure "
                     f"above): median {fmt(statistics.median(base))} ms.")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--rrun", required=True)
    p.add_argument("--runc", default="/usr/sbin/runc")
    p.add_argument("--crun", default="/usr/bin/crun")
    p.add_argument("--floor", required=True)
    p.add_argument("--bundle", required=True)
    p.add_argument("--seccomp-bundle", required=True)
    p.add_argument("--sleep-bundle", required=True)
    p.add_argument("--roots", required=True, help="directory for the runtimes' --root dirs")
    p.add_argument("--tag", required=True, help="prefix of every container id")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--parallel", type=int, default=50)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--rss-reps", type=int, default=10)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--gap", type=float, default=0.0, help="ms of idle before every timed call")
    p.add_argument("--only", default=",".join(FIGURES))
    p.add_argument("--wrap-each", action="store_true")
    p.add_argument("--out")
    p.add_argument("--command", default="hack/bench/bench.sh")
    p.add_argument("--rrun-path", default="?", help="where the rrun binary came from (for the report)")
    p.add_argument("--load-start", default="?")
    a = p.parse_args()
    only = set(a.only.split(","))
    unknown = only - set(FIGURES)
    if unknown:
        raise SystemExit(f"bench: unknown figure(s) {','.join(sorted(unknown))}; known: {','.join(FIGURES)}")

    # Container inits orphaned by create/run -d become our children: wait for
    # them precisely and reap them.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER

    rts = [Runtime("rrun", a.rrun, os.path.join(a.roots, "rrun"), a.wrap_each),
           Runtime("runc", a.runc, os.path.join(a.roots, "runc"), a.wrap_each),
           Runtime("crun", a.crun, os.path.join(a.roots, "crun"), a.wrap_each)]
    for rt in rts:
        os.makedirs(rt.root, mode=0o700, exist_ok=True)
    cg = v1_cgroup_parents()
    rootfs = os.path.join(a.bundle, "rootfs")
    floor = Floor("floor", a.floor, rootfs, cg, a.wrap_each)
    floor_self = Floor("floor-self", a.floor + "-self", rootfs, cg, a.wrap_each)
    b = Bench(a)
    t0 = time.monotonic()
    try:
        b.baseline()
        steps = [("lifecycle", lambda: b.lifecycle(rts)), ("run", lambda: b.run(rts, [floor, floor_self])),
                 ("seccomp", lambda: b.seccomp(rts)), ("exec", lambda: b.exec_(rts)),
                 ("parallel", lambda: b.parallel(rts, floor)), ("rss", lambda: b.rss(rts)),
                 ("size", lambda: b.size(rts))]
        for name, fn in steps:
            if name in only:
                s = time.monotonic()
                fn()
                print(f"bench: {name} done in {time.monotonic() - s:.1f} s", file=sys.stderr)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        b.cleanup(rts)
        sys.exit(130)
    finally:
        b.cleanup(rts)
    text = header(a, rts, b) + "\n\n" + table(b, [rt.name for rt in rts], a) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    hangs = sum(b.hangs.values())
    fails = sum(b.fails.values())
    print(f"bench: {time.monotonic() - t0:.1f} s; {hangs} hang(s), {fails} failure(s)", file=sys.stderr)
    sys.exit(1 if hangs or fails else 0)


if __name__ == "__main__":
    main()
