#!/usr/bin/env bash
# run.sh RUNTIME_PATH [docker|containerd|podman ...]
#
# Drive a runc-compatible runtime through the real engines of Debian 12:
# dockerd 20.10 (docker.io), containerd 1.6 (ctr) and podman 4.3, with the bats
# files beside this script. Each engine's daemon is started once, with private
# state, for its whole file, and stopped at the end. Prints one line per test,
# then a summary; exits non-zero if a test failed or anything was left behind.
#
#   integration/engines/run.sh /usr/sbin/runc
#   integration/engines/run.sh target/release/rrun docker podman
#
# Environment:
#   ENGINES_FILTER=REGEX      only the tests whose name matches (bats -f)
#   ENGINES_LOG_DIR=DIR       keep the TAP output and the daemons' logs in DIR
#   ENGINES_SKIP_DEPS=1       do not install missing Debian packages
#   ENGINES_TEST_TIMEOUT=SEC  per-test timeout (default 120)
#
# Isolation: everything runs in a private mount namespace in which /run,
# /dev/shm, /etc/docker and /var/lib/containers are fresh tmpfs mounts, so no
# engine state, socket, runtime state root, cache or lock file reaches the host's; cgroups, loop devices and
# processes, which a mount namespace does not hide, are cleaned up and checked.
# Containers get no network (--network none / no CNI): only their loopback.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
all_engines=(docker containerd podman)

usage() {
    sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

[[ $# -ge 1 && $1 != -h && $1 != --help ]] || usage
runtime=$1
shift
engines=("$@")
((${#engines[@]})) || engines=("${all_engines[@]}")
for e in "${engines[@]}"; do
    [[ " ${all_engines[*]} " == *" $e "* ]] || { echo "run.sh: unknown engine '$e'" >&2; usage; }
done

# ============================================================== outer: host side
if [[ -z ${ENG_INNER:-} ]]; then
    [[ $(id -u) == 0 ]] || { echo "run.sh: run as root (it starts container engines)" >&2; exit 2; }
    [[ -f $runtime && -x $runtime ]] || { echo "run.sh: $runtime is not an executable file" >&2; exit 2; }
    runtime=$(realpath "$runtime")

    if [[ ${ENGINES_SKIP_DEPS:-} != 1 ]]; then
        pkgs=(docker.io containerd podman bats busybox-static runc util-linux gcc libc6-dev)
        missing=()
        for p in "${pkgs[@]}"; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
        done
        if ((${#missing[@]})); then
            echo "engines: installing ${missing[*]}"
            export DEBIAN_FRONTEND=noninteractive
            made_policy=
            if [[ ! -e /usr/sbin/policy-rc.d ]]; then
                # Packages must not start their system daemons: we start our own.
                printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
                chmod 755 /usr/sbin/policy-rc.d
                made_policy=1
            fi
            apt-get update -qq && apt-get install -y -qq "${missing[@]}" > /dev/null
            apt_rc=$?
            [[ -z $made_policy ]] || rm -f /usr/sbin/policy-rc.d
            ((apt_rc == 0)) || { echo "run.sh: apt-get install failed" >&2; exit 2; }
        fi
    fi
    for c in /usr/bin/docker /usr/sbin/dockerd containerd ctr podman bats busybox script unshare losetup; do
        command -v "$c" > /dev/null || { echo "run.sh: $c is missing" >&2; exit 2; }
    done

    ENG_ID=rrun-engines-$$
    snap=$(mktemp -d /tmp/rrun-engines-host.XXXXXX)
    export ENG_ID ENG_RUNTIME_ORIG=$runtime ENG_RESULTS=$snap/results
    mkdir -p "$ENG_RESULTS"

    # What a run could leave on the host, before it.
    host_state() {
        awk '{print $5}' /proc/self/mountinfo | sort > "$1/mounts"
        find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | sort > "$1/cgroups"
        ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sort > "$1/links"
        losetup -a 2>/dev/null | sort > "$1/loops"
        for d in /run /etc /etc/docker /etc/containers /etc/cni /var/lib /var/tmp /dev/shm /root; do
            ls -A "$d" 2>/dev/null | sed "s#^#$d/#"
        done | sort > "$1/files"
        # Engine paths: what is in them, and when it last changed.
        find /etc/docker /etc/containers /etc/containerd /etc/cni /var/lib/docker /var/lib/containerd \
            /var/lib/containers /var/lib/cni -maxdepth 4 -printf '%p %T@\n' 2>/dev/null | sort > "$1/engine-paths"
    }
    mkdir -p "$snap/before" "$snap/after"
    host_state "$snap/before"
    # Mount points for the namespace's masks (dockerd writes /etc/docker/key.json,
    # podman 4.3 its blob cache under /var/lib/containers/cache whatever its
    # --root): made if missing, removed after.
    masks=(/etc/docker /var/lib/containers)
    made_dirs=()
    for d in "${masks[@]}"; do
        [[ -d $d ]] || { mkdir -p "$d" && made_dirs+=("$d"); }
    done

    trap 'echo "engines: interrupted; cleaning up" >&2' INT TERM
    started=$SECONDS
    ENG_INNER=1 ENG_MASKS="${masks[*]}" unshare --mount --propagation private -- "$0" "$runtime" "${engines[@]}"
    rc=$?
    trap - INT TERM

    # ---- host-side cleanup and checks (the namespace and its tmpfs are gone)
    left=()
    # Our cgroups: remove what the engines left (empty directories only).
    while read -r d; do
        [[ -n $d ]] || continue
        if [[ -s $d/cgroup.procs ]]; then
            left+=("cgroup with processes: $d ($(tr '\n' ' ' < "$d/cgroup.procs"))")
        elif ! rmdir "$d" 2>/dev/null; then
            left+=("cgroup not removable: $d")
        fi
    done < <(find /sys/fs/cgroup -depth -mindepth 2 -type d \( -path "*/$ENG_ID" -o -path "*/$ENG_ID/*" \
        -o -path "*/$ENG_ID-*" \) 2>/dev/null)
    # Loop devices over files of our (now gone) tmpfs.
    while read -r l; do
        [[ -n $l ]] || continue
        dev=${l%%:*}
        left+=("loop device: $l")
        losetup -d "$dev" 2>/dev/null || true
    done < <(losetup -a 2>/dev/null | grep -F "/run/$ENG_ID/" || true)
    # Processes that still mention our state (shims, conmon, daemons).
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        args=$(tr '\0' ' ' 2>/dev/null < "$p/cmdline") || continue
        [[ $args == *"/run/$ENG_ID/"* ]] || continue
        left+=("process $pid: ${args:0:200}")
        kill -KILL "$pid" 2>/dev/null || true
    done
    for d in "${made_dirs[@]}"; do
        rmdir "$d" 2>/dev/null || left+=("$d is not empty")
    done

    host_state "$snap/after"
    warn=()
    for what in mounts cgroups links loops files engine-paths; do
        while read -r x; do
            [[ -n $x ]] || continue
            case $what:$x in
                # Engine paths: only this run could have made them.
                cgroups:*/"$ENG_ID" | cgroups:*/"$ENG_ID"/* | cgroups:*/"$ENG_ID"-* | files:/etc/docker/* | files:/var/lib/docker | files:/var/lib/containerd | \
                    files:/var/lib/containers | files:/var/lib/cni | files:/etc/cni | files:/run/docker* | \
                    files:/run/containerd | files:/run/libpod | files:/run/containers | files:/dev/shm/libpod* | \
                    mounts:*"$ENG_ID"* | engine-paths:*)
                    left+=("$what: $x") ;;
                *) warn+=("$what: $x") ;;
            esac
        done < <(comm -13 "$snap/before/$what" "$snap/after/$what")
    done

    elapsed=$((SECONDS - started))
    pass=0 failc=0 skip=0
    for f in "$ENG_RESULTS"/*.counts; do
        [[ -f $f ]] || continue
        read -r a b c < "$f"
        pass=$((pass + a)) failc=$((failc + b)) skip=$((skip + c))
    done
    if ((${#warn[@]})); then
        echo "engines: new on the host during the run (not ours, maybe other activity):"
        printf '  %s\n' "${warn[@]:0:10}"
        ((${#warn[@]} <= 10)) || echo "  ... and $((${#warn[@]} - 10)) more"
    fi
    if ((${#left[@]})); then
        echo "engines: LEFT BEHIND (removed now where possible):"
        printf '  %s\n' "${left[@]}"
        failc=$((failc + 1))
        ((rc != 0)) || rc=1
    fi
    [[ ! -s $ENG_RESULTS/failures ]] || { echo "engines: failed tests:"; cat "$ENG_RESULTS/failures"; }
    rm -rf "$snap"
    echo "engines: ${engines[*]} with $runtime in ${elapsed}s"
    echo "engines: $pass passed, $failc failed, $skip skipped"
    ((failc == 0)) || ((rc != 0)) || rc=1
    exit $rc
fi

# ============================================================== inner: private mount namespace
export ENG_STATE=/run/$ENG_ID
# Fresh /run (engine sockets and state, the runtimes' default state roots),
# /dev/shm (podman's lock segment) and the masks (see the outer part).
masks_ok=1
mount -n -t tmpfs -o mode=0755 tmpfs /run && mount -n -t tmpfs -o mode=1777 tmpfs /dev/shm || masks_ok=
for d in $ENG_MASKS; do mount -n -t tmpfs -o mode=0700 tmpfs "$d" || masks_ok=; done
[[ -n $masks_ok ]] || { echo "run.sh: cannot set up the mount namespace" >&2; exit 2; }
mkdir -p "$ENG_STATE"/{bin,tmp,home,image,helpers,docker-client}
export HOME=$ENG_STATE/home TMPDIR=$ENG_STATE/tmp DOCKER_CONFIG=$ENG_STATE/docker-client
export ENG_HELPERS=$ENG_STATE/helpers
echo '{}' > "$DOCKER_CONFIG/config.json" # podman reads it too (registry auth)

# The engines exec a private copy: a rebuild of the runtime mid-run cannot
# change or remove it under them.
export ENG_RUNTIME=$ENG_STATE/bin/$(basename "$ENG_RUNTIME_ORIG")
cp "$ENG_RUNTIME_ORIG" "$ENG_RUNTIME"
ENG_RUNTIME_KIND=$("$ENG_RUNTIME" --version 2>/dev/null | awk 'NR==1{print $1}')
export ENG_RUNTIME_KIND=${ENG_RUNTIME_KIND:-unknown}

# shellcheck source=helpers.bash
source "$here/helpers.bash"

echo "engines: runtime $ENG_RUNTIME_ORIG ($("$ENG_RUNTIME" --version 2>/dev/null | head -n1))"
echo "engines: state $ENG_STATE (tmpfs in a private mount namespace)"

eng_build_image "$ENG_IMAGE_DIR" || { echo "run.sh: could not build the busybox image" >&2; exit 2; }
if command -v gcc > /dev/null; then
    gcc -static -O2 -o "$ENG_HELPERS/notify" "$here/notify.c" 2> "$ENG_STATE/tmp/notify-build.log" ||
        echo "engines: could not build the notify helper (sd-notify test will skip)"
fi

running=()
stop_engine() {
    case $1 in
        docker) docker_stop ;;
        containerd) containerd_stop ;;
        podman) podman_cleanup ;;
    esac
}
# Processes in our mount namespace other than this script: what the engines
# left running (shims, conmon, cleanup helpers). Killed by pid and reported.
strays() {
    local p pid out=()
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        [[ $p/ns/mnt -ef /proc/$$/ns/mnt ]] || continue
        out+=("$pid")
    done
    echo "${out[@]}"
}
reap_strays() {
    local what=$1 pid list
    sleep 0.5
    list=$(strays)
    [[ -n $list ]] || return 0
    for pid in $list; do
        echo "engines: $what left process $pid: $(tr '\0' ' ' 2>/dev/null < /proc/$pid/cmdline | cut -c1-200)" >&2
        kill -KILL "$pid" 2>/dev/null || true
    done
    return 1
}
save_logs() {
    [[ -n ${ENGINES_LOG_DIR:-} ]] || return 0
    mkdir -p "$ENGINES_LOG_DIR"
    cp "$DOCKER_LOG" "$ENGINES_LOG_DIR/dockerd.log" 2>/dev/null
    cp "$CTD_LOG" "$ENGINES_LOG_DIR/containerd.log" 2>/dev/null
    cp "$PODMAN_DIR/events.log" "$ENGINES_LOG_DIR/podman-events.log" 2>/dev/null
    return 0
}
cleanup() {
    local e
    for e in "${running[@]}"; do stop_engine "$e"; done
    running=()
    save_logs
    # A loop device the tests could not detach (its file is in our tmpfs).
    losetup -a 2>/dev/null | grep -F "$ENG_STATE/" | cut -d: -f1 | xargs -r -n1 losetup -d 2>/dev/null
    reap_strays "cleanup" || true
}
# bats and the daemons run in sessions of their own, so that a terminal's
# Ctrl-C reaches this script only (bats ignores SIGINT, dockerd would die of
# it): on a signal we stop the tests and clean up in order.
interrupted=
bats_pid=
on_signal() {
    interrupted=1
    echo "engines: interrupted: stopping the tests and cleaning up" >&2
    [[ -z $bats_pid ]] || kill -TERM -- "-$bats_pid" 2>/dev/null
}
trap cleanup EXIT
trap on_signal INT TERM

# tap_report ENGINE - turn bats' TAP into one line per test; counts and the
# first error line of each failed test go to $ENG_RESULTS.
tap_report() {
    local awk_opts=()
    # mawk (Debian's awk) reads a pipe in blocks: make it go line by line.
    awk -W version 2>&1 | grep -q mawk && awk_opts=(-W interactive)
    awk "${awk_opts[@]}" -v eng="$1" -v counts="$ENG_RESULTS/$1.counts" -v failures="$ENG_RESULTS/failures" '
        function flush_fail() {
            if (failing) {
                if (first == "") first = (errline != "") ? errline : (fallback != "") ? fallback : "(no message)"
                printf "  %-10s %s: %s\n", eng, name, first >> failures
            }
            failing = 0
        }
        function show_notes(   i) { for (i = 1; i <= nn; i++) print "             " notes[i]; nn = 0 }
        /^1\.\.[0-9]+/ { plan = substr($0, 4) + 0; next }
        /^(not )?ok [0-9]+ / {
            flush_fail()
            line = $0; bad = (line ~ /^not ok/)
            sub(/^(not )?ok [0-9]+ /, "", line)
            t = ""; reason = ""
            if (match(line, / # (skip|timeout).*$/)) { reason = substr(line, RSTART + 3); line = substr(line, 1, RSTART - 1) }
            if (match(line, / in [0-9]+ms$/)) { t = substr(line, RSTART + 4); line = substr(line, 1, RSTART - 1) }
            name = line; seen++
            if (bad) {
                nfail++; failing = 1; fallback = ""; errline = ""; first = (reason ~ /^timeout/) ? "test " reason : ""
                printf "%-10s FAIL  %s (%s)\n", eng, name, t
            } else if (reason ~ /^skip/) {
                nskip++; sub(/^skip ?/, "", reason)
                printf "%-10s skip: %s  [%s]\n", eng, reason, name
            } else {
                npass++
                printf "%-10s ok    %s (%s)\n", eng, name, t
            }
            show_notes(); fflush(); next
        }
        /^# note: / { notes[++nn] = substr($0, 3); next }
        /^#/ {
            if (failing) {
                msg = substr($0, 3)
                print "             | " msg
                if (first == "" && msg ~ /^FAIL: /) first = substr(msg, 7)
                if (first == "" && msg ~ /failed due to timeout/) first = "timed out"
                if (fallback == "" && msg ~ /^  `/) fallback = msg
                # A command that failed outside `run`: its own error output.
                if (errline == "" && msg !~ /^ *(\(in test file|\(from function|from function|in test file|`)/ &&
                    msg ~ /Error response from daemon|OCI runtime|^ctr: |^Error: /) errline = msg
            } else print "             " $0
            fflush(); next
        }
        { print "             " $0; fflush() }
        END {
            flush_fail(); show_notes()
            if (plan > seen) {
                printf "%-10s FAIL  %d tests did not run\n", eng, plan - seen
                printf "  %-10s %d tests did not run\n", eng, plan - seen >> failures
                nfail += plan - seen
            }
            print npass + 0, nfail + 0, nskip + 0 > counts
        }'
}

rc=0
for e in "${engines[@]}"; do
    echo "=== $e"
    t0=$SECONDS
    case $e in
        docker) docker_start && docker_import_image ;;
        containerd) containerd_start && ctr_import_image ;;
        podman) podman_setup && podman_import_image ;;
    esac
    up=$?
    running+=("$e")
    if ((up != 0)); then
        echo "$(printf '%-10s' "$e") FAIL  engine setup (daemon start or image import)"
        printf '  %-10s engine setup failed\n' "$e" >> "$ENG_RESULTS/failures"
        echo "0 1 0" > "$ENG_RESULTS/$e.counts"
        rc=1
    else
        filter=()
        [[ -z ${ENGINES_FILTER:-} ]] || filter=(--filter "$ENGINES_FILTER")
        tap=$ENG_STATE/tmp/$e.tap
        : > "$tap"
        BATS_TEST_TIMEOUT=${ENGINES_TEST_TIMEOUT:-120} setsid bats --tap --timing "${filter[@]}" "$here/$e.bats" \
            > "$tap" 2>&1 < /dev/null &
        bats_pid=$!
        (trap '' INT TERM; tail -s 0.2 -n +1 -f --pid="$bats_pid" "$tap" | tap_report "$e") &
        report_pid=$!
        while kill -0 "$bats_pid" 2>/dev/null; do wait "$bats_pid"; done
        wait "$bats_pid" || rc=1
        bats_pid=
        wait "$report_pid"
        [[ -z ${ENGINES_LOG_DIR:-} ]] || { mkdir -p "$ENGINES_LOG_DIR" && cp "$tap" "$ENGINES_LOG_DIR/"; }
    fi
    stop_ok=0
    stop_engine "$e" || stop_ok=1
    running=("${running[@]/$e/}")
    reap_strays "$e" || stop_ok=1
    if ((stop_ok != 0)); then
        echo "$(printf '%-10s' "$e") FAIL  engine teardown (containers or processes left; see above)"
        printf '  %-10s engine teardown left something behind\n' "$e" >> "$ENG_RESULTS/failures"
        [[ -f $ENG_RESULTS/$e.counts ]] || echo "0 0 0" > "$ENG_RESULTS/$e.counts"
        read -r a b c < "$ENG_RESULTS/$e.counts"
        echo "$a $((b + 1)) $c" > "$ENG_RESULTS/$e.counts"
        rc=1
    fi
    [[ -f $ENG_RESULTS/$e.counts ]] || echo "0 1 0" > "$ENG_RESULTS/$e.counts"
    read -r a b c < "$ENG_RESULTS/$e.counts"
    echo "=== $e: $a passed, $b failed, $c skipped in $((SECONDS - t0))s"
    [[ -z $interrupted ]] || break
done
[[ -z $interrupted ]] || exit 130
exit $rc
