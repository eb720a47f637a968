#!/usr/bin/env bats
# containerd.bats - containerd 1.6 and its runc v2 shim driving the runtime
# under test (ctr run --runtime io.containerd.runc.v2 --runc-binary RUNTIME).
# Run through run.sh: it starts containerd once for this file. ctr adds no
# network (no --cni): containers have their own namespace with loopback only.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
    [[ -n ${ENG_STATE:-} && -S $CTD_SOCK ]] || {
        echo "containerd.bats: run it through integration/engines/run.sh" >&2
        return 1
    }
}

teardown() {
    ctr_cleanup || true
}

# task_status ID - RUNNING, PAUSED, STOPPED... from `ctr task ls`.
task_status() { ctr task ls | awk -v id="$1" '$1 == id {print $3}'; }
task_pid() { ctr task ls | awk -v id="$1" '$1 == id {print $2}'; }

# wait_status ID STATUS
wait_status() {
    retry 100 0.1 sh -c "[ \"\$(\"\$@\" task ls | awk '\$1 == \"$1\" {print \$3}')\" = $2 ]" _ "${CTR_BIN[@]}" ||
        fail "task $1 is $(task_status "$1"), expected $2"
}

# wait_ready ID - the task's init wrote /tmp/ready (seen through its root).
wait_ready() {
    local pid
    pid=$(task_pid "$1")
    retry 100 0.1 test -e "/proc/$pid/root/tmp/ready" || fail "task $1 never got ready"
}

@test "run: output and exit status reach ctr" {
    run ctrrun --rm "$CIMG" c-run sh -c 'echo hello-ctr; exit 3'
    assert_status 3
    assert_output_has hello-ctr
    run ctrrun --rm "$CIMG" c-run0 true
    assert_status 0
}

@test "run: no network but loopback" {
    run ctrrun --rm "$CIMG" c-net sh -c 'ip -o link | cut -d: -f2'
    assert_status 0
    assert_eq "links" "$(echo $output)" "lo"
}

@test "run -t: the process gets a terminal" {
    run with_tty "${CTR_BIN[@]}" run -t --rm "${CTR_RUNTIME_ARGS[@]}" "$CIMG" c-tty sh -c 'tty; [ -t 0 ] && echo stdin-tty; exit 4' < /dev/null
    assert_status 4
    assert_output_matches '/dev/pts/[0-9]+'
    assert_output_has stdin-tty
}

@test "task exec: output and exit status; task ps lists the processes" {
    ctrrun -d "$CIMG" c-exec sleep 300
    wait_status c-exec RUNNING
    run ctr task exec --exec-id e1 c-exec sh -c 'echo exec-out; exit 5'
    assert_status 5
    assert_output_has exec-out
    run ctr task exec --exec-id e2 --user 1000 --cwd /tmp c-exec sh -c 'echo "$(id -u) $(pwd)"'
    assert_status 0
    assert_output_has "1000 /tmp"
    ctr task exec --detach --exec-id e3 c-exec sleep 200
    run ctr task ps c-exec
    assert_status 0
    assert_output_has "$(task_pid c-exec)"
    [[ $(grep -cE '^[0-9]+' <<< "$output") == 2 ]] || fail "expected 2 processes: $output"
}

@test "task kill: a signal reaches the task; SIGKILL gives 137" {
    ctrrun -d "$CIMG" c-kill sh -c 'trap "exit 7" USR1; touch /tmp/ready; while :; do sleep 0.1; done'
    wait_status c-kill RUNNING
    wait_ready c-kill
    ctr task kill -s SIGUSR1 c-kill
    wait_status c-kill STOPPED
    run ctr task delete c-kill
    assert_output_has "exit code 7"
    ctrrun -d "$CIMG" c-kill9 sleep 300
    wait_status c-kill9 RUNNING
    ctr task kill -s SIGKILL c-kill9
    wait_status c-kill9 STOPPED
    run ctr task delete c-kill9
    assert_output_has "exit code 137"
}

@test "task pause/resume: the processes freeze and thaw" {
    ctrrun -d "$CIMG" c-pause sleep 300
    wait_status c-pause RUNNING
    local freezer
    freezer=$(cg_dir freezer "/$CTD_NS/c-pause")/freezer.state
    ctr task pause c-pause
    wait_status c-pause PAUSED
    [[ ! -f $freezer ]] || assert_eq freezer.state "$(cat "$freezer")" FROZEN
    ctr task resume c-pause
    wait_status c-pause RUNNING
    [[ ! -f $freezer ]] || assert_eq freezer.state "$(cat "$freezer")" THAWED
}

@test "task metrics: the task's cgroup limits and usage" {
    ctrrun -d --memory-limit 67108864 "$CIMG" c-metrics sleep 300
    wait_status c-metrics RUNNING
    run ctr task metrics c-metrics
    assert_status 0
    assert_output_matches 'memory.limit_in_bytes +67108864'
    assert_output_matches 'pids.current +1'
    assert_output_matches 'memory.usage_in_bytes +[1-9][0-9]*'
}

@test "delete: task, container, cgroup and runtime state are gone" {
    ctrrun -d "$CIMG" c-del sleep 300
    wait_status c-del RUNNING
    ctr task kill -s SIGKILL c-del
    wait_status c-del STOPPED
    run ctr task delete c-del
    assert_status 0
    assert_output_has "exit code 137"
    ctr container delete c-del
    run ctr container ls -q
    assert_output_lacks c-del
    run cg_find -path "*/$CTD_NS/c-del"
    assert_eq "cgroups" "$output" ""
    run runtime_list "$CTD_RUNC_ROOT/$CTD_NS"
    assert_output_lacks c-del
}

@test "a runtime error reaches the ctr user: missing or non-executable command" {
    run ctrrun --rm "$CIMG" c-err no-such-command
    assert_failure
    assert_output_has no-such-command
    assert_output_matches 'not found|no such file'
    note "ctr: $(first_error_line "$output")"
    run ctrrun --rm "$CIMG" c-err2 /etc/passwd
    assert_failure
    assert_output_matches '[Pp]ermission denied'
    run ctr container ls -q
    assert_output_lacks c-err
}

@test "nothing is left once every task and container is deleted" {
    ctrrun -d "$CIMG" c-last sleep 300
    wait_status c-last RUNNING
    ctr_cleanup
    run ctr container ls -q
    assert_eq "containers" "$output" ""
    retry 50 0.1 test -z "$(cg_leftovers "/$CTD_NS")" || fail "cgroups left: $(cg_leftovers "/$CTD_NS" | xargs)"
    run runtime_list "$CTD_RUNC_ROOT/$CTD_NS"
    assert_eq "runtime state" "$output" ""
    retry 50 0.1 sh -c "! pgrep -f 'containerd-shi[m] .*$CTD_SOCK' > /dev/null" ||
        fail "shims left: $(pgrep -af "containerd-shi[m] .*$CTD_SOCK")"
}
