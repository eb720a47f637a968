#!/usr/bin/env bash
# profile.sh [--runs N] [--gap MS] [--out FILE] [--no-build]
#
# Where `rrun run` of /bin/true spends its time, with the figures that
# docs/performance.md quotes, on the same busybox bundle as bench.sh and in
# the same private mount namespace (cgroup2 mount removed, for crun):
#   1. phases: `perf trace` of a few marker syscalls over N runs each of rrun,
#      the kernel floor and the self-attaching floor (interleaved), split by
#      phases.py into startup, cgroups, clone, attach, mounts, ... (medians)
#   2. `perf stat -r N` of run for rrun, crun, runc and the floor: CPU time
#      (task-clock), context switches, page faults, elapsed
#   3. `strace -f -c` of one run for each: syscall counts
#   4. process startup alone: `perf stat -r 200` of --version and of `state`
#      of a missing container, against a static do-nothing binary
#   5. a CPU profile (perf record -g) of N runs of rrun: kernel/user split,
#      the dynamic loader, and the heaviest kernel paths
# Needs perf (linux-perf) and strace; root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=30 gap=0 out="" build=1
while (($#)); do
    case $1 in
        --runs) runs=$2; shift ;;
        --gap) gap=$2; shift ;;
        --out) out=$(realpath -m "$2"); shift ;;
        --no-build) build=0 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "profile: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[[ $(id -u) == 0 ]] || { echo "profile: needs root" >&2; exit 1; }
for t in perf strace gcc runc crun; do
    command -v $t > /dev/null || { echo "profile: $t is missing (apt-get install linux-perf strace gcc runc crun)" >&2; exit 1; }
done
RRUN_GIVEN=${RRUN:-}
if [[ -z ${RRUN:-} ]]; then
    ((build)) && (cd "$repo" && hack/build.sh >/dev/null)
    RRUN=$repo/target/release/rrun
fi

work=$(mktemp -d /tmp/rrun-profile.XXXXXX)
roots=/run/rrun-profile.$$
tag=rp$$
cleanup() {
    local rc=$?
    for rt in rrun runc crun; do
        [[ -d $roots/$rt ]] || continue
        for c in "$roots/$rt"/*/; do
            [[ -d $c ]] || continue
            bin=$work/bin/rrun; [[ $rt == runc ]] && bin=/usr/sbin/runc; [[ $rt == crun ]] && bin=/usr/bin/crun
            "$here/no-unified.sh" \
                timeout 10 "$bin" --root "$roots/$rt" delete --force "$(basename "$c")" > /dev/null 2>&1 || true
        done
    done
    find /sys/fs/cgroup -depth -type d -name "$tag*" -exec rmdir {} + 2>/dev/null || true
    rm -rf -- "$roots" "$work"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/bin" "$roots"/{rrun,runc,crun}
cp "$(realpath "$RRUN")" "$work/bin/rrun"
gcc -O2 -static -Wall -o "$work/bin/floor" "$here/floor.c"
gcc -O2 -static -Wall -DSELF_ATTACH -o "$work/bin/floor-self" "$here/floor.c"
printf 'int main(void){return 0;}\n' > "$work/empty.c"
gcc -O2 -static -o "$work/bin/empty" "$work/empty.c"
RRUN=$work/bin/rrun "$here/bundles.sh" "$work"

# Everything below runs inside one private mount namespace without the
# cgroup2 mount, as the benchmark does.
cat > "$work/inner.sh" <<'INNER'
set -euo pipefail
work=$1 roots=$2 tag=$3 runs=$4 gap=$5 here=$6
B=$work/bundle
# The floor's arguments: the container's directory in each v1 hierarchy,
# below this process's own cgroup (where rrun puts it).
cgargs() {
    local name=$1 args=() mp opts ctrl own
    while read -r mp opts; do
        for ctrl in ${opts//,/ }; do
            own=$(awk -F: -v c="$ctrl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup)
            [[ -n $own ]] && { args+=("$mp${own%/}/$name"); break; }
        done
    done < <(awk '{ for (i = 7; i <= NF && $i != "-"; i++) {}; if ($(i + 1) == "cgroup") print $5, $(i + 3) }' /proc/self/mountinfo)
    echo "$(cat /sys/fs/cgroup/cpuset/cpuset.cpus) $(cat /sys/fs/cgroup/cpuset/cpuset.mems) ${args[*]}"
}
floor_cmd() { echo "$work/bin/$1 $B/rootfs $(cgargs "$tag-$2")"; }
rrun_cmd()  { echo "$work/bin/rrun --root $roots/rrun run --bundle $B $tag-$1"; }
crun_cmd()  { echo "/usr/bin/crun --root $roots/crun run --bundle $B $tag-$1"; }
runc_cmd()  { echo "/usr/sbin/runc --root $roots/runc run --bundle $B $tag-$1"; }
ev=brk,mkdir,clone,clone3,write,sethostname,pivot_root,execve,exit_group,rmdir

echo "## 1. Phases of one run (perf trace of marker syscalls; $runs runs each, interleaved, ${gap} ms idle before each)"
echo
mkdir -p "$work/trace"
for ((i = 0; i < runs; i++)); do
    for who in rrun floor floor-self; do
        sleep "$(awk -v g="$gap" 'BEGIN { print g / 1000 }')"
        case $who in
            rrun) cmd=$(rrun_cmd "t$i") ;;
            *) cmd=$(floor_cmd "$who" "t$i-$who") ;;
        esac
        # shellcheck disable=SC2086
        perf trace -e "$ev" -o "$work/trace/$who.$i" $cmd > /dev/null
    done
done
python3 "$here/phases.py" "$work"/trace/rrun.* "$work"/trace/floor.* "$work"/trace/floor-self.*
echo

echo "## 2. perf stat -r $runs of run /bin/true (back to back)"
echo
echo '| | elapsed, ms | task-clock (CPU), ms | context switches | page faults |'
echo '|---|---:|---:|---:|---:|'
for who in rrun crun runc floor floor-self; do
    case $who in
        rrun|crun|runc) cmd=$(${who}_cmd s) ;;
        *) cmd=$(floor_cmd "$who" "s-$who") ;;
    esac
    # shellcheck disable=SC2086
    perf stat -r "$runs" -x, -e task-clock,context-switches,page-faults -o "$work/stat" $cmd > /dev/null
    # perf stat -x doesn't print elapsed; time the same loop for it.
    el=$(python3 - "$runs" $cmd <<'PY'
import subprocess, sys, time, statistics
n = int(sys.argv[1]); v = []
for _ in range(n):
    t = time.monotonic_ns(); subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL); v.append((time.monotonic_ns() - t) / 1e6)
print(f"{statistics.median(v):.2f}")
PY
)
    awk -F, -v who="$who" -v el="$el" '
        $3 == "task-clock" { tc = $1 } $3 == "context-switches" { cs = $1 } $3 == "page-faults" { pf = $1 }
        END { printf "| %s | %s (median) | %.2f | %.0f | %.0f |\n", who, el, tc, cs, pf }' "$work/stat"
done
echo

echo "## 3. strace -f -c of one run: syscalls made (all processes)"
echo
echo '| | syscalls | distinct | top 8 by count |'
echo '|---|---:|---:|---|'
for who in rrun crun runc floor; do
    case $who in
        rrun|crun|runc) cmd=$(${who}_cmd c) ;;
        *) cmd=$(floor_cmd "$who" "c-$who") ;;
    esac
    # shellcheck disable=SC2086
    strace -f -c -S calls -o "$work/strace.$who" $cmd > /dev/null
    awk -v who="$who" '
        /^-/ { sep++; next }
        sep == 1 && NF >= 5 { n++; total += $4; if (n <= 8) top = top (top ? ", " : "") $NF " " $4 }
        END { printf "| %s | %d | %d | %s |\n", who, total, n, top }' "$work/strace.$who"
done
echo

echo "## 4. Process startup alone (perf stat -r 200)"
echo
echo '| command | elapsed, ms | task-clock, ms | page faults |'
echo '|---|---:|---:|---:|'
for cmd in "$work/bin/empty" "$work/bin/rrun --version" "$work/bin/rrun --root $roots/rrun state missing" \
           "/usr/bin/crun --version" "/usr/bin/crun --root $roots/crun state missing" \
           "/usr/sbin/runc --version" "/usr/sbin/runc --root $roots/runc state missing"; do
    # shellcheck disable=SC2086
    { perf stat -r 200 -e task-clock,page-faults $cmd 2>&1 > /dev/null || true; } | awk -v c="$(echo "$cmd" | sed "s|$work/bin/||; s|$roots/|ROOT/|")" '
        /task-clock/ { tc = $1 } /page-faults/ { pf = $1 } /time elapsed/ { el = $1 * 1000 }
        END { printf "| `%s` | %.2f | %.2f | %s |\n", c, el, tc, pf }' || true
done
echo
echo "## 5. CPU profile: perf record -e cpu-clock -g of $runs back-to-back runs of rrun"
echo
echo "Shares of the samples taken in rrun and its container process (the driving shell left out)."
echo
cmd=$(rrun_cmd r)
# shellcheck disable=SC2086
perf record -q -e cpu-clock -F 20000 -g -o "$work/perf.data" -- sh -c "for i in \$(seq $runs); do $cmd > /dev/null; done" 2> /dev/null
echo '```'
perf report -i "$work/perf.data" -g none --no-children --comms rrun,true --percentage relative --sort comm,dso 2> /dev/null |
    awk '/%/ && n++ < 8'
echo
echo "inclusive (children), top 30 symbols:"
perf report -i "$work/perf.data" -g none --children --comms rrun,true --percentage relative --sort sym 2> /dev/null |
    awk '/%/ && n++ < 30'
echo '```'
INNER

{
    echo "# rrun profile: $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "Command: \`${RRUN_GIVEN:+RRUN=$RRUN_GIVEN }hack/bench/profile.sh --runs $runs --gap $gap\`;" \
        "rrun commit $("$work/bin/rrun" --version | sed -n 's/^commit: //p')"
    echo
    "$here/no-unified.sh" \
        bash "$work/inner.sh" "$work" "$roots" "$tag" "$runs" "$gap" "$here"
} | tee ${out:+"$out"}
