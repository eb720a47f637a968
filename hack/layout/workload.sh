#!/usr/bin/env bash
# workload.sh - what hack/layout traces: the commands engines and the
# benchmark run, each once on the host and once in the benchmark's private
# mount namespace. RRUN_HOT is the rrun binary to run.
set -euo pipefail
R=$RRUN_HOT
w=$(mktemp -d /tmp/rrun-layout.XXXXXX)
cleanup() {
    for id in h1 h2 h3 h4 h5; do "$R" --root "$w/root" delete --force $id 2>/dev/null || true; done
    rm -rf "$w"
}
trap cleanup EXIT
repo=$(cd "$(dirname "$0")/../.." && pwd)
# The benchmark's bundles: $w/bundle (/bin/true), $w/seccomp, $w/sleep.
RRUN=$R "$repo/hack/bench/bundles.sh" "$w"
r() { "$R" --root "$w/root" "$@"; }
once() {
    r run -b "$w/bundle" h1
    # --force: under ptrace the exit of /bin/true may not be seen yet.
    r create -b "$w/bundle" h2; r start h2; r state h2 >/dev/null; r delete --force h2
    r run -b "$w/seccomp" h3
    r run -d -b "$w/sleep" h4 >/dev/null
    r exec h4 /bin/true
    r exec -d h4 /bin/sleep 1
    r ps h4 >/dev/null; r ps --format json h4 >/dev/null
    r events --stats h4 >/dev/null
    r pause h4; r resume h4
    r update --memory 100000000 h4
    r kill h4 KILL; r delete --force h4
    r create -b "$w/bundle" h5; r delete --force h5
    r list >/dev/null; r list --format json >/dev/null
    r state missing 2>/dev/null || true
    r features >/dev/null
    (cd "$w" && r spec && rm -f config.json)
    r --version >/dev/null
}
once
"$repo/hack/bench/no-unified.sh" bash -c "set -euo pipefail; $(declare -f r once); R='$R' w='$w'; once"
