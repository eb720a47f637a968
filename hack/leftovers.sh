#!/usr/bin/env bash
# leftovers.sh snapshot DIR | check DIR - record, then compare, what tests
# could leave behind: mounts, cgroups, container state, processes of rrun,
# network links. `check` fails (and lists them) if anything new remains, and
# removes the tests' empty state roots and scratch directories.
set -euo pipefail
mode=${1:?snapshot|check}; dir=${2:?DIR}

# Each lister succeeds on a fresh machine too (a missing directory is an
# empty list, not a failure under pipefail).
mounts()  { awk '{print $5}' /proc/self/mountinfo | sort; }
cgroups() { { find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null || true; } | sort; }
# Container state dirs (rrun's own .rrun-* entries, e.g. the seccomp cache, are not containers).
states()  {
    local d
    for d in /run/rrun /run/rrun-it; do
        [[ -d $d ]] || continue
        find "$d" -mindepth 2 -maxdepth 2 ! -name '.rrun-*' 2>/dev/null || true
    done | sort
}
links()   { { ip -o link show 2>/dev/null || true; } | awk -F': ' '{print $2}' | sort; }
# rrun, and a created container's init waiting as the start trampoline.
procs()   { ps -eo comm= | grep -cE '^rrun(-init)?$' || true; }
# Controllers rrun may enable in a cgroup2 root (hugetlb on hybrid hosts).
subtree() { cat /sys/fs/cgroup/unified/cgroup.subtree_control 2>/dev/null || true; }

take() {
    mounts > "$1/mounts"; cgroups > "$1/cgroups"; states > "$1/states"; links > "$1/links"; procs > "$1/procs"
    subtree > "$1/subtree"
}

case $mode in
    snapshot) take "$dir" ;;
    check)
        now=$(mktemp -d /tmp/rrun-now.XXXXXX)
        take "$now"
        bad=0
        for what in mounts cgroups states links; do
            extra=$(comm -13 "$dir/$what" "$now/$what" || true)
            if [[ -n $extra ]]; then
                echo "left behind ($what):"; echo "$extra" | sed 's/^/  /'; bad=1
            fi
        done
        if (( $(cat "$now/procs") > $(cat "$dir/procs") )); then
            echo "left behind: $(( $(cat "$now/procs") - $(cat "$dir/procs") )) rrun processes"; bad=1
        fi
        # Put back the cgroup2 root's controllers as they were (enabling one is
        # how a hugetlb limit works on a hybrid host; it is not a leftover).
        for c in $(cat "$now/subtree"); do
            grep -qw "$c" "$dir/subtree" || echo "-$c" > /sys/fs/cgroup/unified/cgroup.subtree_control 2>/dev/null || true
        done
        rm -rf "$now"
        if [[ $bad == 0 ]]; then
            rm -rf /run/rrun-it   # only the tests' roots: no container is left in them
            rm -rf /tmp/rrun-it-*
        fi
        exit $bad ;;
    *) echo "usage: leftovers.sh snapshot|check DIR" >&2; exit 2 ;;
esac
