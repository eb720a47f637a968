#!/usr/bin/env bash
# v2vm.sh - run one command in a throwaway QEMU VM whose kernel has a PURE
# cgroup v2 hierarchy. Our hosts boot with a cgroup v1 "hybrid" layout that
# cannot be switched, so rrun's v2 code paths only run for real in a VM.
#
#   hack/v2vm.sh run [-t SECS] [-s HOSTDIR:GUESTDIR[:ro|rw]]... [-i FILE]... [-l FILE]... -- CMD...
#   hack/v2vm.sh build [-F]     build the cached image if it is stale (-F: always)
#   hack/v2vm.sh clean          delete the cache (/var/cache/rrun-v2vm)
#
# run boots a fresh VM, runs CMD as root in it (its words joined by spaces and
# given to /bin/sh, as ssh does), streams the serial console to stdout and
# exits with CMD's status; 124 if the VM hit the timeout (-t, default 600 s per
# boot), 125 if the VM or this script failed. A VM whose guest never reached
# CMD (hung or crashed boot, V2VM_BOOT_TIMEOUT s, default 120) is retried once.
#   -s  share HOSTDIR at GUESTDIR over virtio-9p, read-only unless ":rw"
#       (rw only for directories below /tmp or /var/tmp)
#   -i  copy FILE and the shared libraries it needs into the guest, same paths
#   -l  copy only the shared libraries FILE needs (FILE comes through a share)
#
# The image, cached in /var/cache/rrun-v2vm and rebuilt when the functions
# that shape it or busybox change (`build` also picks up a new kernel):
#   * the kernel of the package that Debian's linux-image-amd64 depends on,
#     fetched with `apt-get download` and unpacked with `dpkg -x` in /tmp:
#     never installed. Its bzImage is decompressed to an ELF vmlinux that QEMU
#     starts at the PVH entry point (no in-guest decompression: faster on TCG);
#   * an uncompressed initramfs: busybox-static and its applets (the only
#     userland: /bin/sh, ps, cp, stat, ...), the modules for virtio, 9p and
#     overlay, and /init. Each run appends a small archive with the command,
#     the share list and the -i/-l files (glibc etc., same paths as the host).
#
# The guest (/init, see guest_init): proc, sys, devtmpfs, devpts, /dev/shm,
# /dev/mqueue, tmpfs /run and /tmp, cgroup2 on /sys/fs/cgroup (nsdelegate; the
# kernel runs with cgroup_no_v1=all) with every controller enabled in the
# root's cgroup.subtree_control; modules loaded, shares mounted, then CMD.
# Status lines carry a per-run nonce (not mistaken for output of CMD). No
# network device (-nic none -nodefaults).
#
# Accelerator: KVM if it can run a stock kernel; TCG (single-threaded)
# otherwise, e.g. on our CI VMs, whose /dev/kvm is nested PVM (kvm_pvm loaded)
# and only boots PVM guest kernels. Environment: V2VM_ACCEL (auto|kvm|tcg),
# V2VM_MEM (MiB, 2048), V2VM_CPUS (1), V2VM_APPEND (extra kernel cmdline),
# V2VM_KERNEL_PKG (NAME=VERSION instead of linux-image-amd64's dependency).
set -euo pipefail
umask 022
export LC_ALL=C

readonly CACHE=/var/cache/rrun-v2vm IMG=/var/cache/rrun-v2vm/img
readonly MODULES=(virtio_pci virtio_rng 9pnet_virtio 9p overlay)

die()  { printf 'v2vm: error: %s\n' "$*" >&2; exit 125; }
note() { printf 'v2vm: %s\n' "$*" >&2; }

# Scratch directories (/tmp/rrun-v2vm.*) and the running VM, for the EXIT trap.
SCRATCH=()
RUN=""
scratch() {     # scratch VAR: a new scratch directory, its path in VAR
    local d
    d=$(mktemp -d /tmp/rrun-v2vm.XXXXXX)
    SCRATCH+=("$d")
    printf -v "$1" '%s' "$d"
}
stop_qemu() {   # only the QEMU whose pid file is ours, and whose command line names it
    local pid
    [[ -n $RUN && -f $RUN/qemu.pid ]] || return 0
    pid=$(tr -dc 0-9 < "$RUN/qemu.pid")
    if [[ -n $pid ]] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$RUN/qemu.pid"; then
        kill "$pid" 2>/dev/null || true
    fi
}
on_exit() {
    local st=$? d
    stop_qemu
    for d in "${SCRATCH[@]}"; do
        [[ $d == /tmp/rrun-v2vm.?* ]] && rm -rf --one-file-system -- "$d"
    done
    exit "$st"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ staging
# A staging tree has the merged-/usr skeleton (bin, sbin, lib, lib64 are
# relative links into usr). The per-run archive uses it too: unpacked over the
# image, a "lib" directory entry would replace the image's "lib" link.
skeleton() {
    mkdir -p -- "$1"/usr/{bin,lib,lib64}
    ln -s usr/bin "$1/bin"; ln -s usr/bin "$1/sbin"; ln -s bin "$1/usr/sbin"
    ln -s usr/lib "$1/lib"; ln -s usr/lib64 "$1/lib64"
}

# stage_bin ROOT FILE [libs-only]: FILE (unless libs-only) and every library
# ldd lists for it, at the same paths under ROOT. (ldd may run FILE's loader:
# trusted files only.)
stage_bin() {
    local root=$1 file=$2 only=${3:-} f
    [[ -f $file ]] || die "no such file: $file"
    if [[ -z $only ]]; then mkdir -p -- "$root$(dirname -- "$file")"; cp -L -- "$file" "$root$file"; fi
    ldd -- "$file" > /dev/null 2>&1 || return 0     # static
    ! ldd -- "$file" | grep -q 'not found' || die "ldd: a library of $file is missing"
    for f in $(ldd -- "$file" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u); do
        mkdir -p -- "$root$(dirname -- "$f")"
        cp -L -- "$f" "$root$f"
    done
}

# pack DIR OUT: uncompressed newc cpio (under TCG, gunzip in the guest costs
# more than QEMU loading a bigger file).
pack() { ( cd -- "$1" && find . -mindepth 1 | sort | busybox cpio -o -H newc 2> /dev/null ) > "$2"; }

# ------------------------------------------------------------------ kernel
kernel_pkg() {   # NAME=VERSION of the kernel package to use
    local name ver
    if [[ -n ${V2VM_KERNEL_PKG:-} ]]; then printf '%s\n' "$V2VM_KERNEL_PKG"; return; fi
    name=$(apt-cache depends linux-image-amd64 2> /dev/null \
        | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
    [[ -n $name ]] || return 1
    ver=$(apt-cache policy "$name" | awk '$1 == "Candidate:" { print $2; exit }')
    [[ -n $ver && $ver != "(none)" ]] || return 1
    printf '%s=%s\n' "$name" "$ver"
}

# extract_vmlinux BZIMAGE OUT: decompress the payload of a bzImage to an ELF;
# succeed only if it has the PVH entry note (Xen note 0x12, PHYS32_ENTRY).
extract_vmlinux() {
    local bz=$1 out=$2 magic dec off o
    for magic in xz zstd gzip; do
        case $magic in
            xz)   dec="xz -dc";   off=$(grep -abo $'\xfd7zXZ' "$bz" | head -n 3 | cut -d: -f1 || true) ;;
            zstd) dec="zstd -dc"; off=$(grep -abo $'\x28\xb5\x2f\xfd' "$bz" | head -n 3 | cut -d: -f1 || true) ;;
            gzip) dec="gzip -dc"; off=$(grep -abo $'\x1f\x8b\x08' "$bz" | head -n 3 | cut -d: -f1 || true) ;;
        esac
        command -v "${dec%% *}" > /dev/null || continue
        for o in $off; do
            tail -c +"$((o + 1))" -- "$bz" | $dec > "$out" 2> /dev/null || true
            if [[ $(head -c 4 -- "$out" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] \
                && readelf -n -- "$out" 2> /dev/null | grep -Eq 'note type: \(0x00000012\)|PHYS32_ENTRY'; then
                return 0
            fi
        done
    done
    rm -f -- "$out"
    return 1
}

# resolve_modules KDIR NAME...: module files (relative to KDIR) in load order,
# dependencies first (from each module's depends=; the package has no
# modules.dep, depmod makes it at install). Built-in modules are skipped.
resolve_modules() {
    local kdir=$1 p n; shift
    local -A byname=() seen=()
    while IFS= read -r p; do
        n=${p##*/}; n=${n%%.ko*}; byname[${n//-/_}]=$p
    done < <(cd -- "$kdir" && find kernel -name '*.ko*')
    add() {
        local m=${1//-/_} p d
        [[ -z ${seen[$m]:-} ]] || return 0
        seen[$m]=1
        p=${byname[$m]:-}
        if [[ -z $p ]]; then
            grep -Eq "/${m//_/[-_]}\.ko" "$kdir/modules.builtin" || die "kernel module $m not found"
            return 0
        fi
        case $p in
            *.xz)  d=$(xz -dc -- "$kdir/$p" | tr '\0' '\n' | grep -a -m1 '^depends=' || true) ;;
            *.zst) d=$(zstd -qdc -- "$kdir/$p" | tr '\0' '\n' | grep -a -m1 '^depends=' || true) ;;
            *)     d=$(tr '\0' '\n' < "$kdir/$p" | grep -a -m1 '^depends=' || true) ;;
        esac
        d=${d#depends=}
        for d in ${d//,/ }; do add "$d"; done
        printf '%s\n' "$p"
    }
    for n; do add "$n"; done
}

# ------------------------------------------------------------------ guest
guest_init() {
    cat <<'EOF'
#!/bin/sh
# rrun-v2vm guest init.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
if [ "$1" != stage2 ]; then
    # Stage 1, on the initramfs "rootfs" mount: pivot_root(2), which runtimes
    # use, fails with EINVAL while / is rootfs itself. Bind-mount / onto
    # /newroot, move that over / and chroot into it: an ordinary mount.
    mount --bind / /newroot && cd /newroot && mount --move . / && exec chroot . /init stage2
    echo "v2vm: stage 1 failed"; poweroff -f
fi
. /etc/v2vm/env
fin() { echo "V2VM-EXIT[$V2VM_NONCE]: $1"; sync; poweroff -f; }
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=1777 shm /dev/shm
mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue
mount -t tmpfs -o nosuid,nodev,mode=0755 run /run
mount -t tmpfs -o nosuid,nodev,mode=1777 tmp /tmp
mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup || fin 125
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control || echo "v2vm: cannot enable controller $c"
done
# The first child cgroup flips one-time static keys (kernel text patching):
# do it now rather than in the middle of the first container start.
mkdir /sys/fs/cgroup/v2vm-warmup && rmdir /sys/fs/cgroup/v2vm-warmup
while read -r m; do
    insmod "/lib/modules/$(uname -r)/$m" || echo "v2vm: insmod $m failed"
done < /etc/v2vm/modules
hostname v2vm
ip link set lo up
for s in $V2VM_SHARES; do       # TAG:GUESTDIR:MODE
    dir=${s#*:}; dir=${dir%:*}
    mkdir -p "$dir"
    mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,${s##*:}" "${s%%:*}" "$dir" \
        || { echo "v2vm: cannot mount share $s"; fin 125; }
done
echo "V2VM-READY[$V2VM_NONCE]: uptime=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r)" \
    "cgroup-v1-mounts=$(grep -c ' cgroup ' /proc/mounts) controllers=$(tr ' ' , < /sys/fs/cgroup/cgroup.subtree_control)"
cd /
/bin/sh /etc/v2vm/cmd < /dev/null
fin $?
EOF
}

# ------------------------------------------------------------------ image
# build_image reuse|check|force: reuse keeps an image whose local inputs are
# unchanged (no apt-cache call); check also re-resolves the kernel package.
image_fp() {     # the image's local inputs: the functions that shape it, busybox
    printf 'v1 %s\n' "$( (declare -f build_image guest_init skeleton stage_bin resolve_modules \
        extract_vmlinux pack; echo "${MODULES[*]}"; cat -- "$(command -v busybox)") | sha256sum | cut -c1-32)"
}
image_fresh() { [[ -f $IMG/stamp && $(head -n 1 -- "$IMG/stamp") == "$(image_fp)" ]]; }

build_image() {
    local mode=$1 fp kpkg b deb d kfile kname kdir mods m a
    fp=$(image_fp)
    if [[ $mode == reuse ]] && image_fresh; then return 0; fi
    kpkg=$(kernel_pkg) || { apt-get update -qq >&2 && kpkg=$(kernel_pkg); } \
        || die "cannot resolve the kernel package (linux-image-amd64); set V2VM_KERNEL_PKG=NAME=VERSION"
    if [[ $mode != force && -f $IMG/stamp && $(cat -- "$IMG/stamp") == "$fp"$'\n'"$kpkg" ]]; then return 0; fi
    note "building the image: $kpkg"
    scratch b
    mkdir -p -- "$b/dl" "$b/k" "$b/root" "$CACHE/deb"

    # The kernel package: the copy kept in the cache, or apt-get download.
    deb=""
    for d in "$CACHE"/deb/*.deb; do
        [[ -f $d && $(dpkg-deb -W --showformat="\${Package}=\${Version}" "$d") == "$kpkg" ]] && deb=$d
    done
    if [[ -z $deb ]]; then
        (cd -- "$b/dl" && apt-get download -q "$kpkg" 2>&1) | grep -v 'unsandboxed' >&2 || true
        d=$(find "$b/dl" -maxdepth 1 -name '*.deb' | head -n 1)
        [[ -n $d ]] || die "apt-get download $kpkg failed"
        rm -f -- "$CACHE"/deb/*.deb
        mv -- "$d" "$CACHE/deb/"
        deb=$CACHE/deb/${d##*/}
    fi
    dpkg -x "$deb" "$b/k"
    kfile=$(find "$b/k/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
    [[ -n $kfile ]] || die "no vmlinuz in $deb"
    kname=${kfile##*/vmlinuz-}
    kdir=$(find "$b/k" -maxdepth 4 -type d -path "*/lib/modules/$kname" | head -n 1)
    [[ -n $kdir ]] || die "no modules for $kname in $deb"
    mkdir -p -- "$b/out"
    grep -q '^CONFIG_CGROUP_BPF=y' "$b/k/boot/config-$kname" || die "$kname lacks CONFIG_CGROUP_BPF"
    if ! extract_vmlinux "$kfile" "$b/out/vmlinux"; then
        note "no PVH vmlinux in $kname; booting the bzImage (slower under TCG)"
        cp -- "$kfile" "$b/out/bzImage"
    fi

    # The initramfs tree.
    local r=$b/root
    skeleton "$r"
    mkdir -p -- "$r"/{proc,sys,dev,run,tmp,root,newroot,etc/v2vm}
    chmod 1777 "$r/tmp"
    mknod -m 600 "$r/dev/console" c 5 1
    mknod -m 666 "$r/dev/null" c 1 3
    cp -- "$(command -v busybox)" "$r/usr/bin/busybox"
    for a in $(busybox --list); do
        [[ $a == busybox ]] || ln -s busybox "$r/usr/bin/$a"
    done
    mods=$(resolve_modules "$kdir" "${MODULES[@]}")
    for m in $mods; do
        mkdir -p -- "$r/lib/modules/$kname/$(dirname -- "$m")"
        case $m in
            *.ko.xz)  xz -dc -- "$kdir/$m" > "$r/lib/modules/$kname/${m%.xz}" ;;
            *.ko.zst) zstd -qdc -- "$kdir/$m" > "$r/lib/modules/$kname/${m%.zst}" ;;
            *)        cp -- "$kdir/$m" "$r/lib/modules/$kname/$m" ;;
        esac
    done
    printf '%s\n' "$mods" | sed -E 's/\.(xz|zst)$//' > "$r/etc/v2vm/modules"
    guest_init > "$r/init"; chmod 755 "$r/init"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
    printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$r/etc/group"
    echo '127.0.0.1 localhost v2vm' > "$r/etc/hosts"
    ln -s ../proc/self/mounts "$r/etc/mtab"
    pack "$r" "$b/out/initramfs.cpio"
    printf '%s\n%s\n' "$fp" "$kpkg" > "$b/out/stamp"

    # Publish (the caller holds the cache lock exclusively).
    rm -rf -- "$CACHE/img.new"
    cp -r -- "$b/out" "$CACHE/img.new"
    rm -rf -- "$IMG"
    mv -- "$CACHE/img.new" "$IMG"
    note "image ready: $kname, initramfs $(du -h "$IMG/initramfs.cpio" | cut -f1)"
}

# ------------------------------------------------------------------ run
pick_accel() {
    case ${V2VM_ACCEL:-auto} in
        kvm|tcg) echo "$V2VM_ACCEL" ;;
        auto) if [[ ! -d /sys/module/kvm_pvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
                  echo kvm
              else echo tcg; fi ;;
        *) die "V2VM_ACCEL must be auto, kvm or tcg" ;;
    esac
}

run_vm() {
    local tmo=600 boot_tmo=${V2VM_BOOT_TIMEOUT:-120} opt spec mode ro host guest n=0 f
    local -a shares=() virtfs=() inject=() libs=()
    while getopts ':t:s:i:l:' opt; do
        case $opt in
            t) tmo=$OPTARG ;; s) shares+=("$OPTARG") ;; i) inject+=("$OPTARG") ;; l) libs+=("$OPTARG") ;;
            :) die "-$OPTARG needs a value" ;; *) die "unknown option -$OPTARG" ;;
        esac
    done
    shift $((OPTIND - 1))
    [[ ${1:-} == -- ]] && shift
    (($#)) || die "usage: v2vm.sh run [-t SECS] [-s HOSTDIR:GUESTDIR[:ro|rw]]... [-i FILE]... [-l FILE]... -- CMD..."
    [[ $tmo =~ ^[0-9]+$ && $boot_tmo =~ ^[0-9]+$ ]] || die "timeouts are whole seconds"
    command -v qemu-system-x86_64 > /dev/null || die "no qemu-system-x86_64 (hack/deps.sh installs it)"

    scratch RUN
    local run=$RUN x=$RUN/extra nonce spec_list=""
    nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    for spec in "${shares[@]}"; do
        mode=ro
        case $spec in *:ro|*:rw) mode=${spec##*:}; spec=${spec%:*} ;; esac
        [[ $spec == ?*:/* ]] || die "bad share '$spec' (HOSTDIR:GUESTDIR[:ro|rw])"
        host=$(realpath -e -- "${spec%:*}" 2> /dev/null) || host=""
        [[ -d $host ]] || die "share ${spec%:*} is not a directory"
        guest=${spec##*:}
        [[ $guest =~ ^/[A-Za-z0-9._/+-]+$ && "$guest/" != */../* && "$guest/" != */./* ]] \
            || die "bad guest directory '$guest'"
        case "$guest/" in /proc/*|/sys/*|/dev/*|/etc/v2vm/*) die "bad guest directory '$guest'" ;; esac
        if [[ $mode == rw ]]; then
            case $host in /tmp/?*|/var/tmp/?*) ;; *) die "rw shares must be below /tmp or /var/tmp: $host" ;; esac
        fi
        ro=""
        if [[ $mode == ro ]]; then ro=,readonly=on; fi
        virtfs+=(-virtfs "local,path=${host//,/,,},mount_tag=v2vm$n,security_model=none$ro")
        spec_list+="v2vm$n:$guest:$mode "
        n=$((n + 1))
    done

    # The per-run archive, appended to the image's (the kernel unpacks both).
    skeleton "$x"
    mkdir -p -- "$x/etc/v2vm"
    printf "V2VM_NONCE=%s\nV2VM_SHARES='%s'\n" "$nonce" "$spec_list" > "$x/etc/v2vm/env"
    printf '%s\n' "$*" > "$x/etc/v2vm/cmd"
    for f in "${inject[@]}"; do stage_bin "$x" "$(realpath -e -- "$f")"; done
    for f in "${libs[@]}"; do stage_bin "$x" "$(realpath -e -- "$f")" libs-only; done

    # Hold the cache lock shared while QEMU reads the image (a build takes it
    # exclusively), so a concurrent build cannot swap the image underneath.
    mkdir -p -- "$CACHE"
    exec {lockfd}> "$CACHE/.lock"
    flock -s "$lockfd"
    if ! image_fresh; then flock -x "$lockfd"; build_image reuse; flock -s "$lockfd"; fi
    pack "$x" "$run/extra.cpio"
    cat -- "$IMG/initramfs.cpio" "$run/extra.cpio" > "$run/initrd"

    local accel kernel=$IMG/vmlinux
    accel=$(pick_accel)
    [[ -f $kernel ]] || kernel=$IMG/bzImage
    local -a qemu=(qemu-system-x86_64 -name rrun-v2vm -M q35 -m "${V2VM_MEM:-2048}" -smp "${V2VM_CPUS:-1}"
        -nodefaults -no-user-config -nic none -display none -vga none -no-reboot
        -serial stdio -monitor none -pidfile "$run/qemu.pid" -device virtio-rng-pci
        -kernel "$kernel" -initrd "$run/initrd"
        -append "console=ttyS0 quiet panic=-1 rdinit=/init cgroup_no_v1=all ${V2VM_APPEND:-}"
        "${virtfs[@]}")
    if [[ $accel == kvm ]]; then
        qemu+=(-accel kvm -cpu host)
    else
        # thread=single: with the multi-threaded default, 1 run in ~25 hung at
        # the first container start (seen with the reference runner). tb-size
        # caps the translation cache, and so QEMU's memory, at 256 MiB.
        qemu+=(-accel "tcg,thread=single,tb-size=256" -cpu max)
    fi

    local attempt rc t0 ready line
    for attempt in 1 2; do
        rm -f -- "$run/qemu.pid" "$run/qemu.rc" "$run/ready"
        : > "$run/console.log"
        note "boot $attempt: accel=$accel timeout=${tmo}s${spec_list:+ shares: $spec_list}"
        t0=$EPOCHREALTIME
        # Background + wait: bash runs the INT/TERM traps (and so stop_qemu) at once.
        {
            local st=0
            timeout -k 10 "$tmo" "${qemu[@]}" < /dev/null 2>&1 || st=$?
            echo "$st" 2> /dev/null > "$run/qemu.rc" || true   # (gone if we were killed)
        } | while IFS= read -r line || [[ -n $line ]]; do
            line=${line%$'\r'}
            printf '%s\n' "$line"; printf '%s\n' "$line" >&8
            if [[ $line == *"V2VM-READY[$nonce]"* ]]; then echo "$EPOCHREALTIME" > "$run/ready"; fi
        done 8>> "$run/console.log" &
        local pipe=$!
        (   # boot watchdog: a guest that never reaches CMD is stopped (and retried)
            for ((i = 0; i < boot_tmo; i++)); do
                sleep 1
                [[ -e $run/ready ]] || ! kill -0 "$pipe" 2> /dev/null && exit 0
            done
            note "the guest did not reach the command in ${boot_tmo}s"
            stop_qemu
        ) &
        local dog=$!
        wait "$pipe" || true
        kill "$dog" 2> /dev/null || true
        wait "$dog" 2> /dev/null || true

        rc=$(grep -a -o "V2VM-EXIT\[$nonce\]: [0-9]*" "$run/console.log" | tail -n 1 | cut -d' ' -f2 || true)
        ready=n/a
        [[ -f $run/ready ]] && ready=$(awk -v a="$t0" -v b="$(cat "$run/ready")" 'BEGIN { printf "%.1fs", b - a }')
        note "boot $attempt: exit=${rc:-none} boot-to-command=$ready total=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }')"
        if [[ -n $rc ]]; then return "$rc"; fi
        if [[ -f $run/ready ]]; then
            case $(cat "$run/qemu.rc" 2> /dev/null) in
                124|137) note "timed out after ${tmo}s"; return 124 ;;
                *) note "the guest stopped without a status (QEMU exit $(cat "$run/qemu.rc" 2> /dev/null))"; return 125 ;;
            esac
        fi
        [[ $attempt == 2 ]] || note "the guest never reached the command; retrying once"
    done
    return 125
}

case ${1:-} in
    run) shift; run_vm "$@" ;;
    build)
        mkdir -p -- "$CACHE"
        exec {lockfd}> "$CACHE/.lock"
        flock -x "$lockfd"
        if [[ ${2:-} == -F ]]; then build_image force; else build_image check; fi ;;
    clean) mkdir -p -- "$CACHE"; exec {lockfd}> "$CACHE/.lock"; flock -x "$lockfd"
        rm -rf --one-file-system -- "$IMG" "$CACHE/deb"; note "cache emptied" ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; [[ ${1:-} == -h || ${1:-} == help ]] ;;
esac
