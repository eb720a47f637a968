#!/usr/bin/env bash
# v2-tests.sh [ARG...] - rrun's integration tests on a PURE cgroup v2 host:
# one VM (hack/v2vm.sh) runs every integration test binary, one test at a
# time (--test-threads=1; ARGs, e.g. a test name filter, are passed on).
#
# Expects the host build (hack/test.sh does it): target/release/rrun and the
# test rootfs target/test-bundle/rootfs with /bin/probe. It only builds the
# integration test binaries (cargo test --no-run), never rrun.
#
# The workspace is shared read-only at its own path; a scratch directory
# (/tmp/rrun-v2-tests.*) read-write at /v2out gets the guest script, each
# binary's log and status. In the guest, rrun and the rootfs are first copied
# to /tmp/v2 (a snapshot, and the rootfs must be on the same filesystem as the
# tests' scratch in /tmp: private_rootfs uses `cp -al`).
#
# Prints each binary's summary and a closing "cgroup-v2: N passed, M failed".
# Exit status: 0 all passed, 1 a test failed, else the VM's (124 timeout, 125 VM failure).
#
# Environment: V2_TESTS_TIMEOUT (whole VM, seconds, default 600),
# V2_TESTS_BIN_TIMEOUT (one test binary, seconds, default 120).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
die() { echo "v2-tests: $*" >&2; exit 125; }

[[ $(id -u) == 0 ]] || die "must run as root (QEMU cache, real containers)"
[[ -x target/release/rrun ]] || die "no target/release/rrun (run hack/build.sh)"
[[ -x target/test-bundle/rootfs/bin/probe ]] \
    || die "no test rootfs (RRUN=target/release/rrun hack/mkbundle.sh target/test-bundle target/release/probe)"
[[ $root =~ ^/[A-Za-z0-9._/+-]+$ ]] || die "workspace path '$root' has characters the guest share cannot take"
for a in "$@"; do [[ $a =~ ^[A-Za-z0-9_:.=-]+$ ]] || die "argument '$a': only simple words are passed to the VM"; done

json=$(cargo test --locked -p integration --no-run --message-format=json) || die "cannot build the integration tests"
mapfile -t bins < <(jq -r 'select(.reason == "compiler-artifact" and .executable != null) | .executable' <<< "$json" | sort)
((${#bins[@]})) || die "cargo listed no integration test binaries"
for b in "${bins[@]}"; do [[ $b == "$root"/* ]] || die "test binary $b is outside the workspace"; done

out=$(mktemp -d /tmp/rrun-v2-tests.XXXXXX)
trap 'rm -rf --one-file-system -- "$out"' EXIT

# The guest side (POSIX sh).
{
    cat <<EOF
#!/bin/sh
set -u
ws=$root
bins="${bins[*]}"
args="$*"
EOF
    cat <<'EOF'
# The hooks tests run /bin/sh with argv[0] "myname": busybox would look for an
# applet of that name, so /bin/sh is the host's dash here, as on Debian.
ln -sf dash /usr/bin/sh
mkdir -p /tmp/v2
cp "$ws/target/release/rrun" /tmp/v2/rrun && cp -a "$ws/target/test-bundle/rootfs" /tmp/v2/rootfs || exit 125
export RRUN_RUNTIME=/tmp/v2/rrun RRUN_TEST_ROOTFS=/tmp/v2/rootfs TMPDIR=/tmp
# Seccomp test profiles, generated on the host (no python3 or kernel headers here).
export RRUN_SECCOMP_DIR=$ws/target/seccomp
echo "v2-tests: $(uname -r), /sys/fs/cgroup: $(grep ' /sys/fs/cgroup ' /proc/mounts | cut -d' ' -f3,4)"
failed=0
for b in $bins; do
    name=${b##*/}; name=${name%-*}
    echo "=== $name"
    t0=$(cut -d' ' -f1 /proc/uptime)
    { timeout "$BIN_TIMEOUT" "$b" --test-threads=1 $args 2>&1; echo $? > "/v2out/$name.rc"; } | tee "/v2out/$name.log"
    rc=$(cat "/v2out/$name.rc")
    echo "=== $name: exit $rc in $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.0f", b - a }')s"
    [ "$rc" = 0 ] || failed=$((failed + 1))
done
exit "$failed"
EOF
} > "$out/run.sh"

libs=()
for b in "${bins[@]}"; do libs+=(-l "$b"); done
vm=0
hack/v2vm.sh run -t "${V2_TESTS_TIMEOUT:-600}" -s "$root:$root:ro" -s "$out:/v2out:rw" \
    -i /usr/bin/dash -i "$(command -v pgrep)" -l "$root/target/release/rrun" "${libs[@]}" \
    -- BIN_TIMEOUT="${V2_TESTS_BIN_TIMEOUT:-120}" sh /v2out/run.sh || vm=$?

# Summary, from the logs the guest left in the scratch directory.
echo "=== cgroup v2 summary (pure cgroup v2 VM)"
passed=0 failed=0 bad=0
for b in "${bins[@]}"; do
    name=${b##*/}; name=${name%-*}
    log=$out/$name.log
    result=$(grep -a '^test result:' "$log" 2> /dev/null | tail -n 1 || true)
    if [[ -z $result ]]; then
        echo "$name: no result (exit $(cat "$out/$name.rc" 2> /dev/null || echo none): crashed, timed out or not run)"
        bad=1; continue
    fi
    echo "$name: $result"
    [[ $result =~ ([0-9]+)\ passed\;\ ([0-9]+)\ failed ]] || continue
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
    grep -a -E '^test .+ \.\.\. FAILED$' "$log" | sed -E 's/^test (.+) \.\.\. FAILED$/    FAILED: \1/' || true
    [[ $(cat "$out/$name.rc" 2> /dev/null) == 0 ]] || bad=1
done
echo "cgroup-v2: $passed passed, $failed failed"
case $vm in 124|125) exit "$vm" ;; esac      # VM timeout or failure
((failed == 0 && bad == 0 && vm == 0)) || exit 1
