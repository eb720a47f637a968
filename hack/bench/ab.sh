#!/usr/bin/env bash
# ab.sh OLD NEW [N] - what one change buys: `run` of /bin/true with two rrun
# binaries, interleaved (the order alternates), N times each (default 120),
# inside the same private mount namespace as bench.sh (cgroup2 mount
# removed). Prints the median wall time and the median CPU time (user+sys
# of rrun and every process it waited for) of each. Needs root.
#
#   git worktree add /tmp/old HEAD~1 && (cd /tmp/old && hack/build.sh)
#   hack/bench/ab.sh /tmp/old/target/release/rrun target/release/rrun
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
(($# >= 2)) || { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "ab: needs root" >&2; exit 1; }
old=$(realpath "$1") new=$(realpath "$2") n=${3:-120}
work=$(mktemp -d /tmp/rrun-ab.XXXXXX)
# The state roots on /run, as bench.sh's (a root on this machine's /tmp
# costs each run an ext4 scan of recently deleted inodes).
roots=/run/rrun-ab.$$
trap 'rm -rf -- "$work" "$roots"' EXIT
RRUN=$new "$here/bundles.sh" "$work"
"$here/no-unified.sh" \
    python3 - "$work" "$roots" "$n" "$old" "$new" <<'PY'
import os, statistics, sys, time
work, roots, n, bins = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
res = {b: ([], []) for b in bins}
for i in range(n):
    for k, b in enumerate(bins if i % 2 == 0 else bins[::-1]):
        t0 = time.monotonic_ns()
        pid = os.fork()
        if pid == 0:
            fd = os.open("/dev/null", os.O_RDWR)
            os.dup2(fd, 1); os.dup2(fd, 2)
            root = f"{roots}/root{bins.index(b)}"
            os.execv(b, [b, "--root", root, "run", "-b", f"{work}/bundle", f"ab{i}"])
        _, status, ru = os.wait4(pid, 0)
        t1 = time.monotonic_ns()
        if status != 0:
            sys.exit(f"ab: {b} run failed ({status})")
        res[b][0].append((t1 - t0) / 1e6)
        res[b][1].append((ru.ru_utime + ru.ru_stime) * 1e3)
for label, b in zip(("old", "new"), bins):
    w, c = res[b]
    print(f"{label} {b}: run median {statistics.median(w):.2f} ms wall, "
          f"{statistics.median(c):.2f} ms CPU ({n} runs)")
PY
