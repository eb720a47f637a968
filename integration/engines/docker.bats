#!/usr/bin/env bats
# docker.bats - dockerd 20.10 (docker.io) driving the runtime under test, which
# it knows as "testrt". Run through run.sh: it starts dockerd once for this file.
# Every container: --runtime testrt --network none --pull never (see drun).

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    [[ -n ${ENG_STATE:-} && -S $DOCKER_SOCK ]] || {
        echo "docker.bats: run it through integration/engines/run.sh" >&2
        return 1
    }
    # A small file-backed loop device for the --device tests, with one Linux
    # partition in an MBR so that fdisk has a table to read.
    export DISK=$BATS_FILE_TMPDIR/disk.img LOOP='' LOOP_MINOR=''
    truncate -s 8M "$DISK"
    printf '\x00\x20\x21\x00\x83\x82\x02\x00\x00\x08\x00\x00\x00\x18\x00\x00' |
        dd of="$DISK" bs=1 seek=446 conv=notrunc status=none
    printf '\x55\xaa' | dd of="$DISK" bs=1 seek=510 conv=notrunc status=none
    if LOOP=$(losetup --find --show "$DISK" 2>/dev/null); then
        LOOP_MINOR=$(($(stat -c '0x%T' "$LOOP")))
    else
        LOOP=
    fi
}

teardown_file() {
    [[ -z ${LOOP:-} ]] || losetup -d "$LOOP"
}

teardown() {
    local ids
    ids=$(docker ps -aq 2>/dev/null) || return 0
    [[ -z $ids ]] || docker rm -f $ids > /dev/null 2>&1 || true
}

need_loop() { [[ -n $LOOP ]] || skip "no free loop device (losetup --find failed)"; }

# wait_log NAME TEXT - wait until the container's log shows TEXT.
wait_log() {
    retry 100 0.1 sh -c "\"\$@\" logs $1 2>&1 | grep -q -- '$2'" _ "${DOCKER_BIN[@]}" ||
        fail "container $1 never logged '$2'"
}

cid() { docker inspect -f '{{.Id}}' "$1"; }

host_cap_bnd() { awk '/^CapBnd:/ {print $2}' /proc/self/status; }

# ---------------------------------------------------------------- daemon

@test "info: dockerd lists the runtime under test, as its default" {
    run docker info --format '{{.DefaultRuntime}} {{json .Runtimes}}'
    assert_status 0
    assert_output_matches "^testrt "
    assert_output_has "\"testrt\":{\"path\":\"$ENG_RUNTIME\""
}

# ---------------------------------------------------------------- run, exit codes

@test "run: output and exit status 0, 1 and 42 reach the client" {
    run drun --rm "$DIMG" sh -c 'echo hello-from-container'
    assert_status 0
    assert_output_has hello-from-container
    run drun --rm "$DIMG" sh -c 'exit 1'
    assert_status 1
    run drun --rm "$DIMG" sh -c 'exit 42'
    assert_status 42
}

@test "run: network none leaves only loopback" {
    run drun --rm "$DIMG" sh -c 'ip -o link | cut -d: -f2'
    assert_status 0
    assert_eq "links" "$(echo $output)" "lo"
}

@test "run: a missing command exits 127, a non-executable one 126" {
    # dockerd derives these from the runtime's error text.
    # (run ! : a failure is expected; the status is checked just after)
    run ! drun --rm "$DIMG" /no/such/binary
    assert_status 127
    run ! drun --rm "$DIMG" no-such-command
    assert_status 127
    assert_output_has no-such-command
    run drun --rm "$DIMG" /etc/passwd
    assert_status 126
}

@test "kill: SIGKILL gives exit status 137" {
    drun -d --name k1 "$DIMG" sleep 300
    docker kill k1
    run docker wait k1
    assert_eq "exit status" "$output" 137
}

@test "stop: a process that handles SIGTERM exits 143, promptly" {
    drun -d --name s1 "$DIMG" sh -c 'trap "exit 143" TERM; echo ready; sleep 300 & wait'
    wait_log s1 ready
    local t0=$SECONDS
    docker stop -t 30 s1
    (( SECONDS - t0 < 15 )) || fail "stop took $((SECONDS - t0))s: SIGTERM did not reach the process"
    run docker wait s1
    assert_eq "exit status" "$output" 143
}

@test "stop: plain sleep under --init exits 143" {
    drun -d --init --name s2 "$DIMG" sleep 300
    retry 50 0.1 sh -c "\"\$@\" top s2 | grep -q 'sleep 300'" _ "${DOCKER_BIN[@]}"
    local t0=$SECONDS
    docker stop -t 30 s2
    (( SECONDS - t0 < 15 )) || fail "stop took $((SECONDS - t0))s: docker-init did not forward SIGTERM"
    run docker wait s2
    assert_eq "exit status" "$output" 143
}

@test "stop: an init that ignores SIGTERM is killed after the timeout (137)" {
    drun -d --name s3 "$DIMG" sleep 300
    local t0=$SECONDS
    docker stop -t 1 s3
    run docker wait s3
    assert_eq "exit status" "$output" 137
    (( SECONDS - t0 >= 1 )) || fail "stopped before the timeout"
}

@test "kill -s: a signal reaches the container's init" {
    drun -d --name k2 "$DIMG" sh -c 'trap "echo got-usr1; exit 42" USR1; echo ready; while :; do sleep 0.1; done'
    wait_log k2 ready
    docker kill -s USR1 k2
    run docker wait k2
    assert_eq "exit status" "$output" 42
    run docker logs k2
    assert_output_has got-usr1
}

# ---------------------------------------------------------------- terminals

@test "tty: run -t gives the process a terminal" {
    run drun --rm -t "$DIMG" sh -c 'tty; [ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; exit 3'
    assert_status 3
    assert_output_matches '/dev/pts/[0-9]+'
    assert_output_has stdin-tty stdout-tty
}

@test "tty: run -it runs an interactive shell on the client's terminal" {
    run with_tty "${DOCKER_BIN[@]}" run -it --rm --runtime testrt --network none --pull never "$DIMG" sh \
        <<< $'tty\necho hello-$((40+2))\nexit 5'
    assert_status 5
    assert_output_has hello-42
    assert_output_matches '/dev/pts/[0-9]+'
}

# ---------------------------------------------------------------- exec

@test "exec: output, exit status, --user, --workdir, --env" {
    drun -d --name e1 "$DIMG" sleep 300
    run docker exec e1 sh -c 'echo exec-out; exit 3'
    assert_status 3
    assert_output_has exec-out
    run docker exec -u 1000:1000 -w /tmp -e FOO=bar e1 sh -c 'echo "$(id -u):$(id -g) $(pwd) $FOO"'
    assert_status 0
    assert_output_has "1000:1000 /tmp bar"
    run docker exec e1 ps -o pid,comm
    assert_status 0
    assert_output_matches '1 +sleep'
}

@test "exec: -t gives a terminal, -it an interactive shell" {
    drun -d --name e2 "$DIMG" sleep 300
    run docker exec -t e2 sh -c 'tty; exit 4'
    assert_status 4
    assert_output_matches '/dev/pts/[0-9]+'
    run with_tty "${DOCKER_BIN[@]}" exec -it e2 sh <<< $'echo hello-$((40+2))\nexit 6'
    assert_status 6
    assert_output_has hello-42
}

@test "exec: a missing command fails and is named" {
    drun -d --name e3 "$DIMG" sleep 300
    run docker exec e3 no-such-command
    assert_failure
    assert_output_has no-such-command
    run docker exec e3 true
    assert_status 0
}

# ---------------------------------------------------------------- lifecycle

@test "logs: stdout and stderr are captured, and told apart" {
    drun --name l1 "$DIMG" sh -c 'echo to-stdout; echo to-stderr >&2'
    run docker logs l1
    assert_output_has to-stdout to-stderr
    run --separate-stderr docker logs l1
    assert_eq "stdout of logs" "$output" to-stdout
    assert_eq "stderr of logs" "$stderr" to-stderr
}

@test "restart: the container runs again, as a new process" {
    drun -d --name r1 "$DIMG" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
    local pid1 pid2
    pid1=$(docker inspect -f '{{.State.Pid}}' r1)
    docker restart -t 10 r1
    run docker inspect -f '{{.State.Running}} {{.State.Pid}}' r1
    assert_output_matches '^true [0-9]+$'
    pid2=${output#true }
    [[ $pid2 != "$pid1" && $pid2 != 0 ]] || fail "pid before and after restart: $pid1 $pid2"
    run docker top r1
    assert_output_has "while"
}

@test "pause/unpause: the processes freeze and thaw" {
    drun -d --name p1 "$DIMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done'
    local id merged freezer a b
    id=$(cid p1)
    merged=$(docker inspect -f '{{.GraphDriver.Data.MergedDir}}' p1)
    freezer=$(cg_dir freezer "$DOCKER_CGROUP_PARENT/$id")/freezer.state
    retry 50 0.1 test -s "$merged/tmp/count"
    docker pause p1
    run docker inspect -f '{{.State.Status}}' p1
    assert_eq status "$output" paused
    [[ ! -f $freezer ]] || assert_eq freezer.state "$(cat "$freezer")" FROZEN
    a=$(cat "$merged/tmp/count"); sleep 0.5; b=$(cat "$merged/tmp/count")
    assert_eq "counter while paused" "$b" "$a"
    docker unpause p1
    run docker inspect -f '{{.State.Status}}' p1
    assert_eq status "$output" running
    [[ ! -f $freezer ]] || assert_eq freezer.state "$(cat "$freezer")" THAWED
    sleep 0.5; b=$(cat "$merged/tmp/count")
    (( b > a )) || fail "counter did not move after unpause: $a -> $b"
}

@test "top: lists the container's processes" {
    drun -d --name t1 "$DIMG" sh -c 'sleep 301 & sleep 302'
    run docker top t1
    assert_status 0
    assert_output_has "sleep 301" "sleep 302"
}

@test "--rm: nothing is left behind (container, cgroups, state, mounts)" {
    local cidf=$BATS_TEST_TMPDIR/cid id
    run drun --rm --cidfile "$cidf" "$DIMG" sh -c 'echo bye'
    assert_status 0
    assert_output_has bye
    id=$(cat "$cidf")
    retry 50 0.1 sh -c '! "$@" inspect '"$id"' > /dev/null 2>&1' _ "${DOCKER_BIN[@]}" ||
        fail "container $id still exists"
    run cg_find -name "*$id*"
    assert_eq "cgroups" "$output" ""
    run find "$DOCKER_EXEC_ROOT" "$DOCKER_DATA_ROOT" -name "*$id*"
    assert_eq "state files" "$output" ""
    run grep -F "$id" /proc/self/mountinfo
    assert_eq "mounts" "$output" ""
}

# ---------------------------------------------------------------- identity, filesystem

@test "--user: uid, gid, names, --group-add" {
    run drun --rm --user 1000:1000 "$DIMG" sh -c 'id; touch /root/x'
    assert_failure
    assert_output_has "uid=1000(tester) gid=1000(tester)" "Permission denied"
    run drun --rm --user nobody --group-add users "$DIMG" id
    assert_status 0
    assert_output_has "uid=65534(nobody) gid=65534(nogroup)" "100(users)"
    run drun --rm --user tester "$DIMG" sh -c 'echo "$(id -u) $HOME"'
    assert_eq "uid and HOME" "$output" "1000 /home/tester"
}

@test "--read-only with --tmpfs: root read-only, /tmp a writable tmpfs" {
    run drun --rm --read-only --tmpfs /tmp:size=1m,mode=1777 "$DIMG" sh -c \
        'touch /x; touch /tmp/y && echo tmp-writable; stat -c "mode=%a" /tmp; grep -E " / | /tmp " /proc/mounts'
    assert_status 0
    assert_output_has "touch: /x: Read-only file system" tmp-writable "mode=1777"
    assert_output_matches 'tmpfs /tmp tmpfs [^ ]*size=1024k'
    assert_output_matches ' / [a-z0-9]+ ro[, ]'
}

@test "-v: bind mounts, read-only and read-write" {
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir -p "$vol"
    echo host-data > "$vol/f"
    run drun --rm -v "$vol:/ro:ro" -v "$vol:/rw" "$DIMG" sh -c \
        'cat /ro/f; echo x > /ro/new; echo from-container > /rw/g; grep -E " /ro | /rw " /proc/mounts'
    assert_output_has host-data "Read-only file system"
    assert_output_matches ' /ro [a-z0-9]+ ro[, ]'
    assert_output_matches ' /rw [a-z0-9]+ rw[, ]'
    [[ ! -e $vol/new ]] || fail "a file was written through the read-only mount"
    assert_eq "file written through the rw mount" "$(cat "$vol/g")" from-container
}

# ---------------------------------------------------------------- capabilities

@test "--cap-drop ALL: no capabilities at all" {
    run drun --rm --cap-drop ALL "$DIMG" sh -c 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status; chown 1 /tmp'
    assert_failure
    assert_output_has "Operation not permitted"
    [[ $(grep -c '0000000000000000' <<< "$output") == 5 ]] || fail "capabilities left: $output"
}

@test "--cap-add NET_ADMIN: ip link add works; without it, EPERM" {
    run drun --rm "$DIMG" ip link add ifb0 type ifb
    assert_failure
    assert_output_has "Operation not permitted"
    run drun --rm --cap-add NET_ADMIN "$DIMG" sh -c 'ip link add ifb0 type ifb && ip -o link show ifb0'
    assert_status 0
    assert_output_has "ifb0"
}

@test "--cap-add ALL --cap-drop MKNOD fails: CAP_SYS_RESOURCE is not in the host's bounding set" {
    host_cap_bnd | grep -q . || skip "no CapBnd"
    (( (16#$(host_cap_bnd) >> 24) & 1 )) && skip "the host has CAP_SYS_RESOURCE: this would work here"
    run drun --rm --cap-add ALL --cap-drop MKNOD "$DIMG" true
    assert_status 125
    # runc's message does not name the capability (recorded); others must.
    note "$ENG_RUNTIME_KIND: $(first_error_line "$output")"
    is_runc || assert_output_matches 'SYS_RESOURCE'
}

@test "--cap-add ALL --cap-drop MKNOD --cap-drop SYS_RESOURCE: every other capability" {
    # docker 20.10's ALL: capabilities 0 (CHOWN) to 37 (AUDIT_READ), those it knows.
    local want
    want=$(printf '%016x' $(( 16#$(host_cap_bnd) & ((1 << 38) - 1) & ~(1 << 27) & ~(1 << 24) )))
    run drun --rm --cap-add ALL --cap-drop MKNOD --cap-drop SYS_RESOURCE "$DIMG" \
        awk '/^CapEff:/ {print $2}' /proc/self/status
    assert_status 0
    assert_eq CapEff "$output" "$want"
}

@test "--privileged fails: CAP_SYS_RESOURCE is not in the host's bounding set" {
    (( (16#$(host_cap_bnd) >> 24) & 1 )) && skip "the host has CAP_SYS_RESOURCE: this would work here"
    run drun --rm --privileged "$DIMG" true
    assert_status 125
    # runc's message does not name the capability (recorded); others must.
    note "$ENG_RUNTIME_KIND: $(first_error_line "$output")"
    is_runc || assert_output_matches 'SYS_RESOURCE'
}

# ---------------------------------------------------------------- devices

# Read the first sector, write one 2 MiB in, as the test's shell reports it.
DEV_PROBE='dd if=/dev/xdisk of=/dev/null bs=512 count=1 2>&1 && echo READ-OK
dd if=/dev/zero of=/dev/xdisk bs=512 seek=4096 count=1 conv=notrunc 2>&1 && echo WRITE-OK
fdisk -l /dev/xdisk 2>&1'

@test "--device :r: the partition table reads, writing fails" {
    need_loop
    run drun --rm --device "$LOOP:/dev/xdisk:r" "$DIMG" sh -c "$DEV_PROBE"
    assert_output_has READ-OK "can't open '/dev/xdisk': Operation not permitted"
    assert_output_lacks WRITE-OK
    assert_output_matches 'xdisk1 .* 83 Linux'
}

@test "--device :w: writing works, reading fails" {
    need_loop
    run drun --rm --device "$LOOP:/dev/xdisk:w" "$DIMG" sh -c "$DEV_PROBE"
    assert_output_has WRITE-OK "Operation not permitted"
    assert_output_lacks READ-OK
}

@test "--device :m: the node is there but cannot be opened" {
    need_loop
    run drun --rm --device "$LOOP:/dev/xdisk:m" "$DIMG" sh -c "ls -l /dev/xdisk; $DEV_PROBE"
    assert_line_matches "^b.* 7, +$LOOP_MINOR .*/dev/xdisk"
    assert_output_has "Operation not permitted"
    assert_output_lacks READ-OK
    assert_output_lacks WRITE-OK
}

@test "--device :rwm: read, write, and mknod of another node for it" {
    need_loop
    run drun --rm --device "$LOOP:/dev/xdisk:rwm" "$DIMG" sh -c \
        "$DEV_PROBE; mknod /tmp/again b 7 $LOOP_MINOR && dd if=/tmp/again of=/dev/null count=1 2>&1 && echo AGAIN-OK"
    assert_output_has READ-OK WRITE-OK AGAIN-OK
    assert_output_matches 'xdisk1 .* 83 Linux'
}

@test "--device-cgroup-rule 'b 7:* rw': a node made inside can be used" {
    need_loop
    local probe="mknod /tmp/l b 7 $LOOP_MINOR || exit 9
dd if=/tmp/l of=/dev/null count=1 2>&1 && echo READ-OK
dd if=/dev/zero of=/tmp/l bs=512 seek=4096 count=1 conv=notrunc 2>&1 && echo WRITE-OK"
    run drun --rm --device-cgroup-rule 'b 7:* rw' "$DIMG" sh -c "$probe"
    assert_output_has READ-OK WRITE-OK
    run drun --rm "$DIMG" sh -c "$probe"
    assert_output_has "Operation not permitted"
    assert_output_lacks READ-OK
}

# /dev/fuse: a FUSE mount needs the device and CAP_SYS_ADMIN. busybox has no
# FUSE client: the kernel's side is enough (mount with an open /dev/fuse fd).
FUSE_PROBE='[ -c /dev/fuse ] && echo HAVE-NODE || mknod /dev/fuse c 10 229
exec 3<>/dev/fuse && echo OPEN-OK
mkdir -p /mnt/f
mount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 fuse /mnt/f && echo MOUNT-OK && umount /mnt/f'

@test "--device /dev/fuse without SYS_ADMIN: opens, but mounting is refused" {
    [[ -c /dev/fuse ]] || skip "no /dev/fuse on the host"
    run drun --rm --device /dev/fuse "$DIMG" sh -c "$FUSE_PROBE"
    assert_output_has HAVE-NODE OPEN-OK "permission denied"
    assert_output_lacks MOUNT-OK
    note "device only: $(grep -m1 mount: <<< "$output")"
}

@test "--device /dev/fuse with --cap-add SYS_ADMIN: a FUSE mount works" {
    [[ -c /dev/fuse ]] || skip "no /dev/fuse on the host"
    run drun --rm --device /dev/fuse --cap-add SYS_ADMIN "$DIMG" sh -c "$FUSE_PROBE"
    assert_output_has HAVE-NODE OPEN-OK MOUNT-OK
}

@test "--cap-add SYS_ADMIN without the device: /dev/fuse cannot be opened" {
    [[ -c /dev/fuse ]] || skip "no /dev/fuse on the host"
    run drun --rm --cap-add SYS_ADMIN "$DIMG" sh -c "$FUSE_PROBE"
    assert_output_lacks HAVE-NODE
    assert_output_has "can't create /dev/fuse: Operation not permitted"
    assert_output_lacks MOUNT-OK
    note "SYS_ADMIN only: $(grep -m1 "can't" <<< "$output")"
}

# ---------------------------------------------------------------- resources

@test "--memory: the limit is in the cgroup, and a hog is OOM-killed (137)" {
    run drun --rm --memory 64m "$DIMG" sh -c \
        'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
    assert_status 0
    assert_eq "memory limit" "$output" 67108864
    run drun --name oom1 --memory 32m "$DIMG" sh -c 'tail /dev/zero'
    assert_status 137
    run docker inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom1
    assert_eq "OOMKilled, exit code" "$output" "true 137"
}

@test "--pids-limit: the limit is in the cgroup, a fork bomb stops at it" {
    run drun --rm --pids-limit 20 "$DIMG" sh -c '
        sh -c "while :; do sleep 60 & done" 2>/tmp/err; echo "bomb-rc=$?"
        read m < /sys/fs/cgroup/pids/pids.max; echo "max=$m"
        read c < /sys/fs/cgroup/pids/pids.current; echo "current=$c"
        read e < /tmp/err; echo "$e"'
    assert_status 0
    assert_output_has "max=20" "can't fork"
    assert_output_lacks "bomb-rc=0"
    local cur
    cur=$(sed -n 's/^current=//p' <<< "$output")
    (( cur > 10 && cur <= 20 )) || fail "pids.current after the bomb: $cur"
}

@test "--cpus: the CFS quota is in the cgroup and holds a busy loop to it" {
    run drun --rm --cpus 0.5 "$DIMG" cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us
    assert_status 0
    assert_eq "quota and period" "$(echo $output)" "50000 100000"
    drun -d --name busy --cpus 0.2 "$DIMG" sh -c 'while :; do :; done'
    local dir u0 u1 t0 t1 pct
    dir=$(cg_dir cpuacct "$DOCKER_CGROUP_PARENT/$(cid busy)")
    [[ -f $dir/cpuacct.usage ]] || skip "no cpuacct.usage at $dir"
    sleep 0.3
    u0=$(cat "$dir/cpuacct.usage"); t0=$(date +%s%N)
    sleep 2
    u1=$(cat "$dir/cpuacct.usage"); t1=$(date +%s%N)
    pct=$(( (u1 - u0) * 100 / (t1 - t0) ))
    note "busy loop under --cpus 0.2 used ${pct}% of one CPU"
    (( pct >= 5 && pct <= 30 )) || fail "busy loop under --cpus 0.2 used ${pct}% of one CPU"
}

@test "--cpuset-cpus: the set is in the cgroup and the affinity is held to it" {
    (( $(nproc) >= 2 )) || skip "needs two CPUs"
    run drun --rm --cpuset-cpus 1 "$DIMG" sh -c \
        'cat /sys/fs/cgroup/cpuset/cpuset.cpus; grep Cpus_allowed_list /proc/self/status; taskset -p 1 $$'
    assert_line '1'
    assert_line_matches 'Cpus_allowed_list:[[:space:]]+1'
    assert_output_has "Invalid argument"
}

# ---------------------------------------------------------------- security options

@test "seccomp: the default profile filters; seccomp=unconfined does not" {
    run drun --rm "$DIMG" sh -c 'grep "^Seccomp:" /proc/self/status; unshare -U true && echo USERNS-OK'
    assert_output_matches 'Seccomp:[[:space:]]+2'
    assert_output_has "Operation not permitted"
    assert_output_lacks USERNS-OK
    run drun --rm --security-opt seccomp=unconfined "$DIMG" sh -c 'grep "^Seccomp:" /proc/self/status; unshare -U true && echo USERNS-OK'
    assert_output_matches 'Seccomp:[[:space:]]+0'
    assert_output_has USERNS-OK
}

@test "seccomp: a custom profile denies what it lists, with its errno" {
    local prof=$BATS_TEST_TMPDIR/seccomp.json
    cat > "$prof" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [
  {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
  {"names": ["chmod", "fchmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
 ]}
EOF
    run drun --rm --security-opt "seccomp=$prof" "$DIMG" sh -c \
        'grep "^Seccomp:" /proc/self/status; mkdir /tmp/d; chmod 600 /etc/passwd; touch /tmp/f && echo TOUCH-OK'
    assert_output_matches 'Seccomp:[[:space:]]+2'
    assert_output_has "can't create directory '/tmp/d': Operation not permitted"
    assert_output_has "chmod: /etc/passwd: Permission denied" TOUCH-OK
}

@test "--security-opt no-new-privileges sets NoNewPrivs" {
    run drun --rm --security-opt no-new-privileges "$DIMG" grep NoNewPrivs /proc/self/status
    assert_status 0
    assert_output_matches 'NoNewPrivs:[[:space:]]+1'
    run drun --rm "$DIMG" grep NoNewPrivs /proc/self/status
    assert_output_matches 'NoNewPrivs:[[:space:]]+0'
}

@test "--sysctl: namespaced sysctls are set in the container only" {
    local host_before
    host_before=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shm_rmid_forced)
    run drun --rm --sysctl net.ipv4.ip_unprivileged_port_start=100 --sysctl kernel.shm_rmid_forced=1 "$DIMG" \
        cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shm_rmid_forced
    assert_status 0
    assert_eq "sysctls" "$(echo $output)" "100 1"
    assert_eq "host sysctls" "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shm_rmid_forced)" "$host_before"
}

@test "--ulimit: soft and hard limits" {
    run drun --rm --ulimit nofile=1024:2048 --ulimit nproc=300:400 "$DIMG" sh -c \
        'ulimit -n; ulimit -Hn; grep -E "^Max (open files|processes)" /proc/self/limits'
    assert_status 0
    assert_output_matches 'Max open files +1024 +2048'
    assert_output_matches 'Max processes +300 +400'
    assert_eq "ulimit -n, -Hn" "$(head -2 <<< "$output" | xargs)" "1024 2048"
}

@test "--hostname: uname and /etc/hostname" {
    run drun --rm --hostname eng-host "$DIMG" sh -c 'hostname; uname -n; cat /etc/hostname'
    assert_status 0
    assert_eq "hostnames" "$(echo $output)" "eng-host eng-host eng-host"
}

@test "--init: docker-init is pid 1 and reaps the command" {
    run drun --rm --init "$DIMG" sh -c 'cat /proc/1/comm; echo "sh-pid=$$"; sleep 0.1 & exit 0'
    assert_status 0
    assert_output_has docker-init
    assert_output_lacks "sh-pid=1"
}

@test "--pid=host: the host's processes are visible" {
    local dpid
    dpid=$(cat "$DOCKER_PIDFILE")
    run drun --rm --pid=host "$DIMG" sh -c "readlink /proc/self/ns/pid; test -d /proc/$dpid && echo SEES-DOCKERD"
    assert_status 0
    assert_output_has "$(readlink /proc/self/ns/pid)" SEES-DOCKERD
    run drun --rm "$DIMG" sh -c "test -d /proc/$dpid && echo SEES-DOCKERD; echo pid=\$\$"
    assert_output_lacks SEES-DOCKERD
    assert_output_has "pid=1"
}

@test "--ipc=host: the host's IPC namespace; private by default" {
    local host_ipc
    host_ipc=$(readlink /proc/self/ns/ipc)
    run drun --rm --ipc=host "$DIMG" readlink /proc/self/ns/ipc
    assert_eq "ipc ns with --ipc=host" "$output" "$host_ipc"
    run drun --rm "$DIMG" readlink /proc/self/ns/ipc
    assert_status 0
    [[ $output != "$host_ipc" ]] || fail "default container shares the host's ipc namespace"
}

# ---------------------------------------------------------------- load

@test "burst: 20 containers at once" {
    local i d=$BATS_TEST_TMPDIR pids=()
    for i in $(seq 20); do
        (
            rc=0
            drun --rm "$DIMG" sh -c "echo burst-$i" > "$d/out$i" 2>&1 || rc=$?
            echo "$rc" > "$d/rc$i"
        ) 3>&- &
        pids+=($!)
    done
    wait "${pids[@]}" || true # (not a bare wait: bats' timeout watchdog is a job too)
    local bad=()
    for i in $(seq 20); do
        [[ $(cat "$d/rc$i") == 0 && $(cat "$d/out$i") == "burst-$i" ]] ||
            bad+=("#$i rc=$(cat "$d/rc$i"): $(first_error_line "$(cat "$d/out$i")")")
    done
    ((${#bad[@]} == 0)) || fail "${#bad[@]} of 20 failed: ${bad[*]}"
    run docker ps -aq
    assert_eq "containers left" "$output" ""
}

# ---------------------------------------------------------------- cleanup

@test "nothing is left once every container is removed" {
    drun -d --name last1 "$DIMG" sleep 300
    drun --name last2 "$DIMG" true
    docker rm -f last1 last2
    run docker ps -aq
    assert_eq "containers" "$output" ""
    retry 50 0.1 test -z "$(cg_leftovers "$DOCKER_CGROUP_PARENT")" ||
        fail "cgroups left: $(cg_leftovers "$DOCKER_CGROUP_PARENT" | xargs)"
    # The runtime's state root: no container left in it (dot-files are a
    # runtime's own, e.g. rrun's compiled seccomp cache).
    local root
    for root in "$DOCKER_EXEC_ROOT"/runtime-*/moby; do
        [[ -d $root ]] || continue
        run runtime_list "$root"
        assert_eq "containers the runtime still lists" "$output" ""
        run ls "$root"
        assert_eq "runtime state" "$output" ""
    done
    run grep -cE "$DOCKER_DATA_ROOT/(overlay2/[0-9a-f]{64}/merged|containers/)" /proc/self/mountinfo
    assert_eq "container mounts" "$output" 0
    retry 50 0.1 sh -c "! pgrep -f 'containerd-shi[m] .*$DOCKER_EXEC_ROOT' > /dev/null" ||
        fail "shims left: $(pgrep -af "containerd-shi[m] .*$DOCKER_EXEC_ROOT")"
}
