#!/usr/bin/env bats
# podman.bats - rootful podman 4.3 (conmon) driving the runtime under test
# (--runtime RUNTIME, cgroupfs, private root/runroot/tmpdir and configuration,
# --network none, --pull never). Run through run.sh.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    [[ -n ${ENG_STATE:-} && -f $PODMAN_DIR/containers.conf ]] || {
        echo "podman.bats: run it through integration/engines/run.sh" >&2
        return 1
    }
}

teardown() {
    podman rm --all --force --time 0 > /dev/null 2>&1 || true
    if [[ -f $BATS_TEST_TMPDIR/listener.pid ]]; then
        kill "$(cat "$BATS_TEST_TMPDIR/listener.pid")" 2>/dev/null || true
    fi
    if [[ -f $BATS_TEST_TMPDIR/rootless.user ]]; then
        rootless_cleanup "$(cat "$BATS_TEST_TMPDIR/rootless.user")"
    fi
}

# The test user's processes (podman's pause process holds its user and
# mount namespaces), by pid, then the user, its home and runtime dir.
rootless_cleanup() {
    local user=$1 uid pid
    uid=$(id -u "$user" 2>/dev/null) || return 0
    for pid in $(pgrep -u "$uid"); do kill -KILL "$pid" 2>/dev/null || true; done
    retry 50 0.1 sh -c "! pgrep -u $uid > /dev/null" || true
    userdel "$user" 2>/dev/null || true
    rm -rf "$ENG_STATE/rootless-home" "/run/user/$uid"
}

# as_user USER HOME CMD... - run as an ordinary user with a clean login-like
# environment (what a rootless podman user has).
as_user() {
    local user=$1 home=$2
    shift 2
    setpriv --reuid "$user" --regid "$user" --init-groups \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" USER="$user" \
        XDG_RUNTIME_DIR="/run/user/$(id -u "$user")" "$@"
}

@test "run: output and exit status, with the imported image" {
    run prun --rm "$PIMG" sh -c 'echo hello-podman; exit 3'
    assert_status 3
    assert_output_has hello-podman
    run prun --rm "$PIMG" sh -c 'ip -o link | cut -d: -f2'
    assert_status 0
    assert_eq "links" "$(echo $output)" "lo"
}

@test "run: a missing command exits 127, a non-executable one 126" {
    run ! prun --rm "$PIMG" no-such-command
    assert_status 127
    assert_output_has no-such-command
    run prun --rm "$PIMG" /etc/passwd
    assert_status 126
}

@test "run -t: the process gets a terminal" {
    run prun --rm -t "$PIMG" sh -c 'tty; exit 4'
    assert_status 4
    assert_output_matches '/dev/pts/[0-9]+'
}

@test "exec: output, exit status, user; -t" {
    prun -d --name pe "$PIMG" sleep 300
    run podman exec pe sh -c 'echo exec-out; exit 5'
    assert_status 5
    assert_output_has exec-out
    run podman exec --user 1000 --workdir /tmp pe sh -c 'echo "$(id -u) $(pwd)"'
    assert_output_has "1000 /tmp"
    run podman exec -t pe tty
    assert_status 0
    assert_output_matches '/dev/pts/[0-9]+'
}

@test "stop and rm: SIGTERM handled (143), ignored then killed (137)" {
    prun -d --name ps1 "$PIMG" sh -c 'trap "exit 143" TERM; touch /tmp/ready; sleep 300 & wait'
    local pid
    pid=$(podman inspect -f '{{.State.Pid}}' ps1)
    retry 100 0.1 test -e "/proc/$pid/root/tmp/ready"
    podman stop -t 30 ps1
    run podman inspect -f '{{.State.ExitCode}}' ps1
    assert_eq "exit code" "$output" 143
    prun -d --name ps2 "$PIMG" sleep 300
    podman stop -t 1 ps2
    run podman inspect -f '{{.State.ExitCode}}' ps2
    assert_eq "exit code" "$output" 137
    podman rm ps1 ps2
    run podman ps -aq
    assert_eq "containers" "$output" ""
}

@test "--rm: nothing is left behind (container, cgroups, mounts)" {
    local cidf=$BATS_TEST_TMPDIR/cid id
    run prun --rm --cidfile "$cidf" "$PIMG" sh -c 'echo bye'
    assert_status 0
    assert_output_has bye
    id=$(cat "$cidf")
    retry 50 0.1 sh -c '! "$@" container exists '"$id" _ "${PODMAN_BIN[@]}" || fail "container $id still exists"
    run cg_find -name "*$id*"
    assert_eq "cgroups" "$output" ""
    run grep -F "$id" /proc/self/mountinfo
    assert_eq "mounts" "$output" ""
}

@test "--privileged works: podman builds the set from the host's bounding set" {
    local bnd
    bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
    run prun --rm --privileged "$PIMG" sh -c 'grep -E "^Cap(Eff|Bnd):" /proc/self/status; ls /dev | grep -c .'
    assert_status 0
    assert_output_matches "CapEff:[[:space:]]+$bnd"
    assert_output_matches "CapBnd:[[:space:]]+$bnd"
}

@test "--sdnotify=container: READY=1 from the container reaches NOTIFY_SOCKET" {
    [[ -x $ENG_HELPERS/notify ]] || skip "no static notify helper (gcc with static libc needed)"
    local sock=$BATS_TEST_TMPDIR/notify.sock out=$BATS_TEST_TMPDIR/notify.out lpid
    "$ENG_HELPERS/notify" listen "$sock" "$out" 60 3>&- &
    lpid=$!
    echo "$lpid" > "$BATS_TEST_TMPDIR/listener.pid"
    retry 50 0.1 test -S "$sock"
    run env NOTIFY_SOCKET="$sock" "${PODMAN_BIN[@]}" run -d --name sdn --sdnotify=container \
        --network none --pull never --cgroup-parent "$PODMAN_CGROUP_PARENT" -v "$ENG_HELPERS:/h:ro" "$PIMG" \
        sh -c 'echo "NS=$NOTIFY_SOCKET"; sleep 0.5; /h/notify send READY=1 STATUS=engine-test; sleep 300'
    assert_status 0
    local rc=0
    wait "$lpid" || rc=$?
    run cat "$out"
    assert_output_has "READY=1"
    assert_eq "listener status" "$rc" 0
    run podman logs sdn
    assert_output_matches 'NS=/.+'
    assert_output_has "notify: sent to"
}

@test "nothing is left once every container is removed" {
    prun -d --name plast "$PIMG" sleep 300
    podman rm --force --time 0 plast
    run podman ps -aq
    assert_eq "containers" "$output" ""
    retry 50 0.1 test -z "$(cg_leftovers "$PODMAN_CGROUP_PARENT" | grep -v '/conmon$')" ||
        fail "cgroups left: $(cg_leftovers "$PODMAN_CGROUP_PARENT" | xargs)"
    run grep -cF "$PODMAN_DIR/root/overlay/" /proc/self/mountinfo
    assert_eq "container mounts" "$output" 0
    retry 50 0.1 sh -c "! pgrep -f 'conmo[n] .*$PODMAN_DIR' > /dev/null" ||
        fail "conmon left: $(pgrep -af "conmo[n] .*$PODMAN_DIR")"
}

@test "rootless: an ordinary user's podman runs a container on the runtime" {
    command -v newuidmap > /dev/null || skip "no newuidmap (Debian's uidmap)"
    local user=rrpod$$ home=$ENG_STATE/rootless-home uid
    useradd -M -d "$home" -s /bin/sh "$user"
    echo "$user" > "$BATS_TEST_TMPDIR/rootless.user"
    usermod --add-subuids 600000-665535 --add-subgids 600000-665535 "$user"
    uid=$(id -u "$user")
    mkdir -p "$home" "/run/user/$uid"
    chown "$user:" "$home" "/run/user/$uid"
    chmod 0755 "$home"
    cp "$ENG_IMAGE_DIR/rootfs.tar" "$home/rootfs.tar"
    as_user "$user" "$home" podman import "$home/rootfs.tar" localhost/rootless:latest > /dev/null
    run as_user "$user" "$home" podman --runtime "$ENG_RUNTIME" run --rm --network none \
        --pull never localhost/rootless:latest sh -c 'id -u; cat /proc/self/uid_map; echo ok-rootless'
    assert_status 0
    assert_output_has ok-rootless
    # The container's root is the user; the other ids are the subuid range.
    assert_output_matches "[[:space:]]0[[:space:]]+$uid[[:space:]]+1"
    assert_output_matches "[[:space:]]600000[[:space:]]+65536"
    run as_user "$user" "$home" podman ps -aq
    assert_eq "containers" "$output" ""
}
