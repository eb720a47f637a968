#!/usr/bin/env bash
# test.sh - install what is needed, build rrun once, and run every suite:
# unit tests, integration and differential tests (real containers, runc as
# the oracle), then check that nothing was left behind.
#
# Environment: RRUN_SKIP_DEPS=1 skips apt-get; RRUN_SUITES="unit integration"
# selects suites (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

[[ ${RRUN_SKIP_DEPS:-} == 1 ]] || hack/deps.sh
[[ $(id -u) == 0 ]] || { echo "test.sh: the tests create real containers: run as root" >&2; exit 1; }

suites=${RRUN_SUITES:-"lint unit integration conformance engines v2 fuzz"}
has() { [[ " $suites " == *" $1 "* ]]; }

hack/build.sh
export RRUN_RUNTIME=$root/target/release/rrun
export RRUN_TEST_ROOTFS=$root/target/test-bundle/rootfs
RRUN=$RRUN_RUNTIME hack/mkbundle.sh target/test-bundle target/release/probe
# Docker-shaped seccomp profiles for the tests (also read inside the v2 VM).
mkdir -p target/seccomp
hack/docker-like-seccomp.py > target/seccomp/docker-like.json
for n in 437 439; do hack/docker-like-seccomp.py "$n" > "target/seccomp/docker-like-$n.json"; done
export RRUN_SECCOMP_DIR=$root/target/seccomp

before=$(mktemp -d /tmp/rrun-leftovers.XXXXXX)
hack/leftovers.sh snapshot "$before"

failed=()
nstep=0
logs=$root/target/test-logs
rm -rf "$logs" && mkdir -p "$logs"
# Each step's output goes to the terminal and to a log; the summary at the
# end repeats what failed, so that the tail of a long run says why.
step() {
    local name=$1; shift
    nstep=$((nstep + 1))
    local log="$logs/$nstep-$(tr -c 'a-zA-Z0-9\n' - <<<"$name").log"
    echo "=== $name"
    if "$@" > >(tee "$log") 2>&1; then
        echo "=== $name: ok"
    else
        echo "=== $name: FAILED"
        failed+=("$name")
        failed_logs+=("$log")
    fi
}
failed_logs=()
summarize() {
    local log
    for log in "${failed_logs[@]}"; do
        echo "--- from $log:"
        grep -E -A4 -- '^---- .* stdout ----$|panicked at|^not ok|FAILED|^test result: FAILED' "$log" |
            grep -v -E '^\s+[0-9]+: |^\s+at ' | tail -n 80
    done
}

if has lint; then
    step "cargo fmt" cargo fmt --all --check
    step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
fi
if has unit; then
    step "unit tests" cargo test --locked -p rrun
fi
if has integration; then
    # The attack tests' build: protections that can be switched off, pause points.
    cargo build --locked -p rrun --features attack-tests
    mkdir -p target/attack && cp target/debug/rrun target/attack/rrun
    export RRUN_ATTACK_BUILD=$root/target/attack/rrun
    step "integration tests (rrun)" cargo test --locked -p integration -- --test-threads=2
    step "differential tests (runc oracle)" env RRUN_RUNTIME=/usr/sbin/runc \
        cargo test --locked -p integration -- --test-threads=2
fi

if has conformance; then
    # The runtime-spec matrix (docs/conformance.md); deliberate deviations
    # are listed in conformance/deviations.tsv.
    step "conformance (rrun)" sh -c 'cargo build --release --locked -p conformance &&
        target/release/conformance --runtime target/release/rrun --name rrun'
fi
if has engines; then
    step "engines: docker, containerd, podman" integration/engines/run.sh "$RRUN_RUNTIME"
fi
if has v2; then
    step "integration tests on pure cgroup v2 (VM)" hack/v2-tests.sh
fi

if has fuzz; then
    step "fuzz config.json (60 s)" hack/fuzz.sh 60
fi

step "nothing left behind" hack/leftovers.sh check "$before"
rm -rf "$before"

if ((${#failed[@]})); then
    summarize
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all suites passed"
