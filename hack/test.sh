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
step() {
    local name=$1; shift
    echo "=== $name"
    if "$@"; then echo "=== $name: ok"; else echo "=== $name: FAILED"; failed+=("$name"); fi
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
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all suites passed"
