# helpers.bash - shared by run.sh (image, engine lifecycle) and the .bats files
# (command wrappers, assertions). Everything lives under $ENG_STATE, a tmpfs in
# run.sh's private mount namespace; the variables below are exported by run.sh.
#
#   ENG_ID            unique run name: cgroup parents, containerd namespace
#   ENG_STATE         private state root (tmpfs)
#   ENG_RUNTIME       copy of the runtime under test (what the engines exec)
#   ENG_RUNTIME_ORIG  the path given to run.sh
#   ENG_RUNTIME_KIND  first word of `RUNTIME --version` (runc, rrun, crun...)
#   ENG_HELPERS       directory with the static `notify` helper (may be empty)

ENG_CMD_TIMEOUT=${ENG_CMD_TIMEOUT:-90}

# ---------------------------------------------------------------- messages

# note TEXT - a line in the TAP stream (bats fd 3) that run.sh prints with the
# test: used to record what a runtime did where the test does not assert it.
note() { echo "# note: $*" >&3; }

# The most telling line of $1: the first that looks like an error, else the first.
first_error_line() {
    local line
    # An engine's report of the runtime's error first, then anything error-like.
    line=$(grep -m1 -E "Error response from daemon|OCI runtime|^ctr: |^Error: " <<<"$1" || true)
    [[ -n $line ]] ||
        line=$(grep -m1 -iE "error|fail|denied|not permitted|not found|no such|invalid|unable|cannot|can't|unknown|timed out|refused" <<<"$1" || true)
    [[ -n $line ]] || line=$(head -n1 <<<"$1")
    printf '%s' "${line:0:400}"
}

# fail MSG - make the test fail with MSG; run.sh reports the first FAIL: line.
fail() {
    echo "FAIL: $*" >&2
    return 1
}

# ---------------------------------------------------------------- assertions
# They read bats' $status and $output from the last `run`.

assert_status() {
    [[ $status == "$1" ]] && return 0
    fail "exit status $status, expected $1: $(first_error_line "$output")"$'\n'"--- output:"$'\n'"$output"
}

assert_failure() {
    [[ $status != 0 ]] && return 0
    fail "exit status 0, expected a failure"$'\n'"--- output:"$'\n'"$output"
}

assert_output_has() {
    local s
    for s in "$@"; do
        [[ $output == *"$s"* ]] && continue
        fail "output lacks '$s': $(first_error_line "$output")"$'\n'"--- output:"$'\n'"$output"
        return 1
    done
}

assert_output_lacks() {
    [[ $output != *"$1"* ]] && return 0
    fail "output has '$1'"$'\n'"--- output:"$'\n'"$output"
}

assert_output_matches() {
    [[ $output =~ $1 ]] && return 0
    fail "output does not match /$1/: $(first_error_line "$output")"$'\n'"--- output:"$'\n'"$output"
}

# assert_line LINE - some line of the output is exactly LINE.
assert_line() {
    grep -qxF -- "$1" <<< "$output" && return 0
    fail "no output line is '$1': $(first_error_line "$output")"$'\n'"--- output:"$'\n'"$output"
}

# assert_line_matches REGEX - some line of the output matches REGEX (grep -E).
assert_line_matches() {
    grep -qE -- "$1" <<< "$output" && return 0
    fail "no output line matches /$1/: $(first_error_line "$output")"$'\n'"--- output:"$'\n'"$output"
}

# assert_eq WHAT GOT WANT
assert_eq() {
    [[ $2 == "$3" ]] && return 0
    fail "$1: got '$2', expected '$3'"
}

# retry N DELAY CMD... - run CMD until it succeeds, at most N times.
retry() {
    local n=$1 delay=$2 i
    shift 2
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        sleep "$delay"
    done
    return 1
}

# with_tty CMD... - run CMD with a pseudo-terminal as its stdin/stdout/stderr
# (util-linux script); this function's own stdin is copied to the terminal.
# Output has the terminal's CRLF turned into LF.
with_tty() {
    local cmd
    printf -v cmd '%q ' "$@"
    timeout -k 5 "$ENG_CMD_TIMEOUT" script -qefc "$cmd" /dev/null | tr -d '\r'
    return "${PIPESTATUS[0]}"
}

# The runtime prints runc's own wording for some errors; others are expected to
# name what failed. is_runc tells which one is under test.
is_runc() { [[ $ENG_RUNTIME_KIND == runc ]]; }

# ---------------------------------------------------------------- cgroups

# cg_dir CONTROLLER CGROUP_PATH - host directory of a container's cgroup.
cg_dir() {
    if [[ -d /sys/fs/cgroup/$1 ]]; then
        echo "/sys/fs/cgroup/$1$2"
    else
        echo "/sys/fs/cgroup$2" # cgroup v2
    fi
}

# cg_leftovers PARENT - cgroup directories below PARENT in any hierarchy.
cg_leftovers() {
    local h
    for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
        [[ -d $h/${1#/} ]] || continue
        find "$h/${1#/}" -mindepth 1 -type d 2>/dev/null
    done | sort -u
}

# cg_find FIND_ARGS... - cgroup directories anywhere (others' cgroups may come
# and go while find walks: errors are not results).
cg_find() { find /sys/fs/cgroup -type d "$@" 2>/dev/null || true; }

# runtime_list ROOT - container ids the runtime has state for under ROOT.
runtime_list() {
    "$ENG_RUNTIME" --root "$1" list -q 2>/dev/null || true
}

# ---------------------------------------------------------------- image

# eng_build_image DIR - busybox rootfs tarball (DIR/rootfs.tar) from Debian's
# busybox-static, and an OCI image layout archive of it (DIR/oci.tar) for ctr.
eng_build_image() {
    local dir=$1 root=$1/rootfs p
    rm -rf "$root"
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,var/tmp,proc,sys,dev,root,home/tester,mnt}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 700 "$root/root"
    for p in $(/bin/busybox --list-full); do
        [[ $p == bin/busybox ]] || ln -sf /bin/busybox "$root/$p"
    done
    cp /bin/busybox "$root/bin/busybox"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'tester:x:1000:1000:tester:/home/tester:/bin/sh' \
        'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' > "$root/etc/passwd"
    printf '%s\n' 'root:x:0:' 'users:x:100:' 'tester:x:1000:' 'nogroup:x:65534:' > "$root/etc/group"
    chown 1000:1000 "$root/home/tester"
    tar --numeric-owner -C "$root" -cf "$dir/rootfs.tar" .
    rm -rf "$root"
    eng_oci_archive "$dir/rootfs.tar" "$dir/oci.tar" "docker.io/library/$ENG_IMAGE_NAME:latest"
}

# eng_oci_archive LAYER_TAR OUT_TAR REF - an OCI image layout with one
# uncompressed layer, as `ctr image import` takes it.
eng_oci_archive() {
    local layer=$1 out=$2 ref=$3 d lsha lsize csha csize msha msize
    d=$(mktemp -d "$ENG_STATE/tmp/oci.XXXXXX")
    mkdir -p "$d/blobs/sha256"
    lsha=$(sha256sum "$layer" | cut -d' ' -f1)
    lsize=$(stat -c %s "$layer")
    cp "$layer" "$d/blobs/sha256/$lsha"
    printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"rrun engine tests: busybox-static"}]}' \
        "$lsha" > "$d/config"
    csha=$(sha256sum "$d/config" | cut -d' ' -f1)
    csize=$(stat -c %s "$d/config")
    mv "$d/config" "$d/blobs/sha256/$csha"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
        "$csha" "$csize" "$lsha" "$lsize" > "$d/manifest"
    msha=$(sha256sum "$d/manifest" | cut -d' ' -f1)
    msize=$(stat -c %s "$d/manifest")
    mv "$d/manifest" "$d/blobs/sha256/$msha"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"}}]}' \
        "$msha" "$msize" "$ref" > "$d/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' > "$d/oci-layout"
    tar -C "$d" -cf "$out" oci-layout index.json blobs
    rm -rf "$d"
}

# ---------------------------------------------------------------- daemons

# eng_stop_pid NAME PID [SECONDS] - SIGTERM one process we started, SIGKILL
# after SECONDS. Returns 1 if it had to be killed.
eng_stop_pid() {
    local name=$1 pid=$2 secs=${3:-30} i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "engines: $name (pid $pid) did not stop in ${secs}s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    return 1
}

# eng_quiet CMD... - run CMD, showing its output only if it fails.
eng_quiet() {
    local out
    out=$("$@" 2>&1) && return 0
    local rc=$?
    echo "engines: '$*' failed ($rc):" >&2
    echo "$out" >&2
    return $rc
}

# eng_wait_for SECONDS CMD... - poll CMD until it succeeds.
eng_wait_for() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 10; i++)); do
        "$@" > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# ---- docker (dockerd 20.10 with its own containerd, all state private)

DOCKER_DIR=$ENG_STATE/docker
DOCKER_SOCK=$DOCKER_DIR/docker.sock
DOCKER_PIDFILE=$DOCKER_DIR/docker.pid
DOCKER_EXEC_ROOT=$DOCKER_DIR/exec
DOCKER_DATA_ROOT=$DOCKER_DIR/root
DOCKER_CGROUP_PARENT=/$ENG_ID-docker
DOCKER_LOG=$DOCKER_DIR/dockerd.log

docker_start() {
    mkdir -p "$DOCKER_DIR"
    echo '{}' > "$DOCKER_DIR/daemon.json"
    # --add-runtime takes name=path in 20.10; the runtime is also the default so
    # that nothing can fall back to the host's runc unnoticed.
    setsid /usr/sbin/dockerd \
        --config-file "$DOCKER_DIR/daemon.json" \
        --data-root "$DOCKER_DATA_ROOT" --exec-root "$DOCKER_EXEC_ROOT" \
        --host "unix://$DOCKER_SOCK" --pidfile "$DOCKER_PIDFILE" \
        --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --userland-proxy=false --storage-driver overlay2 --log-driver json-file \
        --cgroup-parent "$DOCKER_CGROUP_PARENT" --exec-opt native.cgroupdriver=cgroupfs \
        --add-runtime "testrt=$ENG_RUNTIME" --default-runtime testrt \
        > "$DOCKER_LOG" 2>&1 3>&- &
    echo $! > "$DOCKER_DIR/dockerd.spawned"
    if ! eng_wait_for 60 docker_cli version; then
        echo "engines: dockerd did not come up; its log:" >&2
        tail -n 30 "$DOCKER_LOG" >&2
        return 1
    fi
}

docker_stop() {
    local pid rc=0
    [[ -f $DOCKER_DIR/dockerd.spawned ]] || return 0
    if docker_cli version > /dev/null 2>&1; then
        local ids
        ids=$(docker_cli ps -aq 2> /dev/null || true)
        [[ -z $ids ]] || docker_cli rm -f $ids > /dev/null 2>&1 || rc=1
    fi
    pid=$(cat "$DOCKER_PIDFILE" 2>/dev/null || cat "$DOCKER_DIR/dockerd.spawned")
    eng_stop_pid dockerd "$pid" 60 || rc=1
    rm -f "$DOCKER_DIR/dockerd.spawned"
    return $rc
}

# The docker.io client by full path: /usr/local/bin/docker may be another one.
DOCKER_BIN=(/usr/bin/docker -H "unix://$DOCKER_SOCK")
docker_cli() { timeout -k 5 "$ENG_CMD_TIMEOUT" "${DOCKER_BIN[@]}" "$@"; }

docker_import_image() {
    eng_quiet docker_cli import --change 'CMD ["sh"]' "$ENG_IMAGE_DIR/rootfs.tar" "$ENG_IMAGE_NAME:latest"
}

# ---- containerd 1.6 (private root, state, socket; ctr drives it)

CTD_DIR=$ENG_STATE/containerd
CTD_SOCK=$CTD_DIR/containerd.sock
CTD_NS=$ENG_ID
CTD_RUNC_ROOT=$CTD_DIR/runtime-root
CTD_LOG=$CTD_DIR/containerd.log

containerd_start() {
    mkdir -p "$CTD_DIR"
    # The packaged defaults with private paths; the CRI plugin is disabled: it
    # would serve a streaming port and set up CNI, which these tests never use.
    containerd config default | sed \
        -e "s#^root = .*#root = \"$CTD_DIR/root\"#" \
        -e "s#^state = .*#state = \"$CTD_DIR/state\"#" \
        -e "s#^disabled_plugins = .*#disabled_plugins = [\"io.containerd.grpc.v1.cri\"]#" \
        -e "/^\[grpc\]/,/^\[/ s#^  address = .*#  address = \"$CTD_SOCK\"#" \
        -e "s#path = \"/opt/containerd\"#path = \"$CTD_DIR/opt\"#" \
        > "$CTD_DIR/config.toml"
    grep -q "^root = \"$CTD_DIR/root\"" "$CTD_DIR/config.toml" &&
        grep -q "address = \"$CTD_SOCK\"" "$CTD_DIR/config.toml" || {
        echo "engines: could not make a private containerd config" >&2
        return 1
    }
    setsid containerd --config "$CTD_DIR/config.toml" > "$CTD_LOG" 2>&1 3>&- &
    echo $! > "$CTD_DIR/containerd.pid"
    if ! eng_wait_for 60 ctr_cli version; then
        echo "engines: containerd did not come up; its log:" >&2
        tail -n 30 "$CTD_LOG" >&2
        return 1
    fi
}

containerd_stop() {
    local pid rc=0 id
    [[ -f $CTD_DIR/containerd.pid ]] || return 0
    pid=$(cat "$CTD_DIR/containerd.pid")
    if kill -0 "$pid" 2>/dev/null; then
        ctr_cleanup || rc=1
    fi
    eng_stop_pid containerd "$pid" 30 || rc=1
    rm -f "$CTD_DIR/containerd.pid"
    return $rc
}

CTR_BIN=(ctr --address "$CTD_SOCK" --namespace "$CTD_NS")
ctr_cli() { timeout -k 5 "$ENG_CMD_TIMEOUT" "${CTR_BIN[@]}" "$@"; }

# ctr_cleanup - kill and delete every task and container of our namespace.
ctr_cleanup() {
    local id rc=0
    for id in $(ctr_cli task ls -q 2>/dev/null); do
        ctr_cli task kill -s SIGKILL "$id" > /dev/null 2>&1 || true
    done
    for id in $(ctr_cli task ls -q 2>/dev/null); do
        retry 50 0.1 ctr_cli task delete "$id" > /dev/null 2>&1 ||
            ctr_cli task delete --force "$id" > /dev/null 2>&1 || rc=1
    done
    for id in $(ctr_cli container ls -q 2>/dev/null); do
        ctr_cli container delete "$id" > /dev/null 2>&1 || rc=1
    done
    return $rc
}

ctr_import_image() {
    eng_quiet ctr_cli image import "$ENG_IMAGE_DIR/oci.tar"
}

# ---- podman 4.3 (no daemon: private root, runroot, tmpdir and configuration)

PODMAN_DIR=$ENG_STATE/podman
PODMAN_CGROUP_PARENT=/$ENG_ID-podman

podman_setup() {
    local nproc_max pid_max
    mkdir -p "$PODMAN_DIR"/{root,runroot,tmp,net,cache}
    # Rootful podman asks for RLIMIT_NOFILE/NPROC of 1048576/4194304 unless told
    # otherwise; without CAP_SYS_RESOURCE in the bounding set the runtime cannot
    # raise a hard limit, so default to the limits we have. podman itself caps
    # its NPROC hard limit at kernel.pid_max before it starts conmon.
    nproc_max=$(ulimit -Hu)
    pid_max=$(cat /proc/sys/kernel/pid_max)
    [[ $nproc_max == unlimited || $nproc_max -gt $pid_max ]] && nproc_max=$pid_max
    cat > "$PODMAN_DIR/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$nproc_max:$nproc_max"]
netns = "none"
[network]
network_config_dir = "$PODMAN_DIR/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PODMAN_DIR/events.log"
tmp_dir = "$PODMAN_DIR/tmp"
static_dir = "$PODMAN_DIR/root/libpod"
volume_path = "$PODMAN_DIR/root/volumes"
image_copy_tmp_dir = "$PODMAN_DIR/tmp"
EOF
    printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' \
        "$PODMAN_DIR/root" "$PODMAN_DIR/runroot" > "$PODMAN_DIR/storage.conf"
    # No registry: never resolve or pull anything.
    printf 'unqualified-search-registries = []\n' > "$PODMAN_DIR/registries.conf"
}

podman_cleanup() {
    [[ -f $PODMAN_DIR/containers.conf ]] || return 0
    local rc=0
    podman_cli rm --all --force --time 0 > /dev/null 2>&1 || rc=1
    podman_cli ps -aq 2>/dev/null | grep -q . && rc=1
    return $rc
}

PODMAN_BIN=(env "CONTAINERS_CONF=$PODMAN_DIR/containers.conf"
    "CONTAINERS_STORAGE_CONF=$PODMAN_DIR/storage.conf"
    "CONTAINERS_REGISTRIES_CONF=$PODMAN_DIR/registries.conf" "TMPDIR=$PODMAN_DIR/tmp"
    podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/runroot" --tmpdir "$PODMAN_DIR/tmp"
    --cgroup-manager cgroupfs --events-backend file --runtime "$ENG_RUNTIME")
podman_cli() { timeout -k 5 "$ENG_CMD_TIMEOUT" "${PODMAN_BIN[@]}" "$@"; }

podman_import_image() {
    eng_quiet podman_cli import --change 'CMD ["sh"]' "$ENG_IMAGE_DIR/rootfs.tar" "localhost/$ENG_IMAGE_NAME:latest"
}

# ---------------------------------------------------------------- test wrappers

ENG_IMAGE_NAME=${ENG_IMAGE_NAME:-rrun-engines-busybox}
ENG_IMAGE_DIR=$ENG_STATE/image

# docker: every container with the runtime under test and no network; never pull.
docker() { docker_cli "$@"; }
drun() { docker_cli run --runtime testrt --network none --pull never "$@"; }
DIMG=$ENG_IMAGE_NAME:latest

# ctr: the runc v2 shim driving the runtime under test, state root private.
ctr() { ctr_cli "$@"; }
CTR_RUNTIME_ARGS=(--runtime io.containerd.runc.v2 --runc-binary "$ENG_RUNTIME" --runc-root "$CTD_RUNC_ROOT")
ctrrun() { ctr_cli run "${CTR_RUNTIME_ARGS[@]}" "$@"; }
CIMG=docker.io/library/$ENG_IMAGE_NAME:latest

# podman: rootful, cgroupfs, private paths, no network; never pull.
podman() { podman_cli "$@"; }
prun() { podman_cli run --network none --pull never --cgroup-parent "$PODMAN_CGROUP_PARENT" "$@"; }
PIMG=localhost/$ENG_IMAGE_NAME:latest
