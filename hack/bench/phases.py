#!/usr/bin/env python3
"""phases.py TRACE... - split `perf trace` outputs of `rrun run` (or of the
kernel floor) into phases, and print the median (min–max) of each in ms.

Each TRACE is the output of one run under
  perf trace -e brk,mkdir,clone,clone3,write,sethostname,pivot_root,execve,exit_group,rmdir
(profile.sh makes them). Only these syscalls are traced, so the tracing
overhead stays small (a few microseconds per traced call). Phases, from the
runtime's first syscall after its execve:
  startup      exec'd, dynamic loader, CLI, config.json, validation, plan
               (to the first mkdir: the state dir for rrun, a cgroup for the floor)
  prepare      state dir, cgroup mkdirs, cpuset seed, device rules (to clone)
  clone        the clone/clone3 call with the new namespaces
  attach       clone returns -> the last cgroup.procs write returns
  (of which the slowest write: the cgroup_threadgroup_rwsem write lock)
  handoff      -> the child's sethostname (the child wakes up)
  mounts       sethostname -> pivot_root (rootfs, mounts, /dev)
  finish       pivot_root -> execve of the container program (ro paths,
               masks, keyring, rlimits, caps, Ready/start handshake)
  program      the container's execve -> its exit_group (/bin/true)
  reap         the container's exit -> the runtime's next syscall
  teardown     -> the runtime's exit_group (rmdir cgroups, state removal)
  total        first syscall -> exit_group
"""
import re
import statistics
import sys

LINE = re.compile(r"\s*([\d.]+|\?) \(\s*([\d.]*)\s*(?:ms)?\s*\):\s*(\S+)/(\d+)\s+(.*)")
PHASES = ["startup", "prepare", "clone", "attach", "  slowest cgroup.procs write", "handoff",
          "mounts", "finish", "program", "reap", "teardown", "total"]


def parse(path):
    ev = []
    pending = {}
    for line in open(path):
        m = LINE.match(line)
        if not m:
            continue
        ts, dur, comm, pid, rest = m.groups()
        pid = int(pid)
        name = re.match(r"(?:\.\.\. \[continued\]: )?(\w+)\(", rest)
        if not name:
            continue
        name = name.group(1)
        if ts == "?":
            continue
        t = float(ts)
        d = float(dur) if dur else None
        if "[continued]" in rest:
            # the end of a call printed earlier with "..."
            k = pending.pop((pid, name), None)
            if k is not None:
                ev[k]["dur"] = d
            continue
        ev.append({"t": t, "dur": d, "pid": pid, "name": name, "rest": rest})
        if d is None and rest.rstrip().endswith("..."):
            pending[(pid, name)] = len(ev) - 1
    return ev


def end(e):
    return e["t"] + (e["dur"] or 0.0)


def phases(ev):
    main = ev[0]["pid"]
    mine = [e for e in ev if e["pid"] == main]
    first = lambda name, seq: next(e for e in seq if e["name"] == name)
    t0 = ev[0]["t"]
    mk = first("mkdir", mine)
    cl = next(e for e in mine if e["name"] in ("clone", "clone3"))
    child = next(e["pid"] for e in ev if e["pid"] != main and e["t"] > cl["t"])
    kid = [e for e in ev if e["pid"] == child]
    host = first("sethostname", kid)
    piv = first("pivot_root", kid)
    exe = first("execve", kid)
    ex = [e for e in kid if e["name"] == "exit_group"][-1]
    writes = [e for e in mine if e["name"] == "write" and cl["t"] < e["t"] < host["t"]]
    attach_end = max((end(w) for w in writes), default=end(cl))
    after = [e for e in mine if e["t"] > ex["t"]]
    fin = [e for e in mine if e["name"] == "exit_group"][-1]
    return {
        "startup": mk["t"] - t0,
        "prepare": cl["t"] - mk["t"],
        "clone": (cl["dur"] or 0.0),
        "attach": attach_end - end(cl),
        "  slowest cgroup.procs write": max((w["dur"] or 0.0 for w in writes), default=0.0),
        "handoff": host["t"] - attach_end,
        "mounts": piv["t"] - host["t"],
        "finish": exe["t"] - piv["t"],
        "program": ex["t"] - exe["t"],
        "reap": (after[0]["t"] - ex["t"]) if after else 0.0,
        "teardown": fin["t"] - (after[0]["t"] if after else ex["t"]),
        "total": fin["t"] - t0,
    }


def main():
    groups = {}
    for path in sys.argv[1:]:
        who = path.rsplit("/", 1)[-1].split(".")[0]
        try:
            groups.setdefault(who, []).append(phases(parse(path)))
        except (StopIteration, IndexError) as e:
            print(f"phases: {path}: unexpected trace ({e!r})", file=sys.stderr)
    names = list(groups)
    print("| phase | " + " | ".join(f"{n} (n={len(groups[n])})" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    for ph in PHASES:
        cells = []
        for n in names:
            v = [g[ph] for g in groups[n]]
            cells.append(f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f})")
        print(f"| {ph} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
