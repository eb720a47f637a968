#!/usr/bin/env bash
# bench.sh [--smoke] [--out FILE] [--iterations N] [--parallel N] [--rounds N]
#          [--rss-reps N] [--timeout S] [--gap MS] [--only FIG,...] [--wrap-each]
#          [--no-build]
#
# rrun against runc and crun (Debian's packages), interleaved in one run on
# one busybox bundle, plus the kernel floor (floor.c: the default config's
# kernel work with raw syscalls). Prints one markdown table: medians,
# min–max, the ratio to crun, and where rrun stands against its targets.
# docs/performance.md explains the method and the figures.
#
#   --smoke        a few iterations, 10 containers in parallel: a check that
#                  every runtime works and nothing hangs (seconds; CI may run it)
#   --out FILE     also write the report to FILE
#   --only FIGS    a subset of lifecycle,run,seccomp,exec,parallel,rss,size
#   --gap MS       sleep MS before every timed call (default 0: back to back);
#                  a gap lets the kernel's cgroup attach lock go idle, so each
#                  container pays its RCU grace period (see docs/performance.md)
#   --timeout S    a call running longer is killed and counted as a hang (10)
#   --wrap-each    wrap every call in its own private mount namespace (the
#                  wrapper's ~3 ms then lands in every figure) instead of one
#                  namespace for the whole run
#   --no-build     use target/release/rrun as it is (default: cargo build it);
#                  RRUN=/path/to/rrun skips the build too
#
# Exit status: 0, or 1 if any call hung (timeout) or failed.
# Needs root and a cgroup v1 or hybrid host. Leaves nothing behind: every
# container is deleted, the runtimes' roots, bundles and cgroups removed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cmdline="${RRUN:+RRUN=$RRUN }hack/bench/bench.sh${*:+ $*}"

smoke=0 build=1 out="" pass=()
iterations=100 parallel=50 rounds=5 rss_reps=10
while (($#)); do
    case $1 in
        --smoke) smoke=1; iterations=3; parallel=10; rounds=1; rss_reps=2 ;;
        --out) out=$(realpath -m "$2"); shift ;;
        --iterations) iterations=$2; shift ;;
        --parallel) parallel=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        --rss-reps) rss_reps=$2; shift ;;
        --timeout|--only|--gap) pass+=("$1" "$2"); shift ;;
        --wrap-each) pass+=("$1") ;;
        --no-build) build=0 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

[[ $(id -u) == 0 ]] || { echo "bench: needs root" >&2; exit 1; }

# What the benchmark needs, from Debian's packages.
need=()
for pkg_cmd in runc:/usr/sbin/runc crun:/usr/bin/crun busybox-static:/bin/busybox time:/usr/bin/time \
               gcc:/usr/bin/gcc libc6-dev:/usr/lib/x86_64-linux-gnu/libc.a file:/usr/bin/file \
               util-linux:/usr/bin/unshare python3:/usr/bin/python3; do
    [[ -e ${pkg_cmd#*:} ]] || need+=("${pkg_cmd%%:*}")
done
if ((${#need[@]})); then
    echo "bench: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null
fi

if [[ -z ${RRUN:-} ]]; then
    if ((build)) || [[ ! -x $repo/target/release/rrun ]]; then
        (cd "$repo" && hack/build.sh >/dev/null)
    fi
    RRUN=$repo/target/release/rrun
fi
RRUN=$(realpath "$RRUN")

work=$(mktemp -d /tmp/rrun-bench.XXXXXX)
roots=/run/rrun-bench.$$
tag=rb$$
mkdir -p "$roots"

cleanup() {
    local rc=$?
    # The driver deletes its containers; this catches what an interrupted
    # driver could not (inside the same wrapper, so crun can act).
    for rt in rrun runc crun; do
        local root=$roots/$rt bin
        case $rt in rrun) bin=$work/bin/rrun ;; runc) bin=/usr/sbin/runc ;; crun) bin=/usr/bin/crun ;; esac
        [[ -d $root && -x $bin ]] || continue
        for c in "$root"/*/; do
            [[ -d $c ]] || continue
            "$here/no-unified.sh" \
                timeout 10 "$bin" --root "$root" delete --force "$(basename "$c")" > /dev/null 2>&1 || true
        done
    done
    # Cgroups named after this run's containers (and the floor's), deepest first.
    find /sys/fs/cgroup -depth -type d -name "$tag-*" -exec rmdir {} + 2>/dev/null || true
    rm -rf -- "$roots" "$work"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One copy of rrun for the whole run (the tree may be rebuilt meanwhile).
mkdir -p "$work/bin"
cp "$RRUN" "$work/bin/rrun"
gcc -O2 -static -Wall -o "$work/bin/floor" "$here/floor.c"
gcc -O2 -static -Wall -DSELF_ATTACH -o "$work/bin/floor-self" "$here/floor.c"

# One busybox bundle; the seccomp and sleep variants share its rootfs.
RRUN=$work/bin/rrun "$here/bundles.sh" "$work"

load=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${load%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "bench: load average is $load on $(nproc) cores: figures from a busy machine are noisy" >&2
fi

start=$(date +%s.%N)
set +e
"$here/no-unified.sh" \
    python3 "$here/bench.py" --work "$work" --rrun "$work/bin/rrun" --floor "$work/bin/floor" \
    --bundle "$work/bundle" --seccomp-bundle "$work/seccomp" --sleep-bundle "$work/sleep" \
    --roots "$roots" --tag "$tag" --iterations "$iterations" --parallel "$parallel" \
    --rounds "$rounds" --rss-reps "$rss_reps" ${out:+--out "$out"} \
    --command "$cmdline" --rrun-path "$RRUN" --load-start "$load" "${pass[@]}"
rc=$?
set -e
echo "bench: finished in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s (exit $rc)" >&2
exit $rc
