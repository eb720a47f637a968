#!/usr/bin/env bash
# mkbundle.sh DIR [PROBE] - build a busybox OCI bundle in DIR from Debian's
# busybox-static: DIR/rootfs (busybox + applet links, /etc/passwd, /etc/group,
# and the test probe at /bin/probe when PROBE is given) and DIR/config.json
# from `rrun spec` (non-terminal, running `sh`). Idempotent: an existing
# rootfs is rebuilt.
set -euo pipefail

dir=${1:?usage: mkbundle.sh DIR [PROBE]}
probe=${2:-}
rrun=${RRUN:-rrun}
busybox=$(command -v busybox) || { echo "mkbundle: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
if ! file -L "$busybox" | grep -q 'statically linked'; then
    echo "mkbundle: $busybox is not static (apt-get install busybox-static)" >&2; exit 1
fi

rootfs="$dir/rootfs"
rm -rf -- "$rootfs"
mkdir -p -- "$rootfs"/{bin,dev,etc,proc,sys,tmp,root,usr,var,run,home}
chmod 1777 "$rootfs/tmp"
cp -- "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
done
ln -sfn bin "$rootfs/sbin"
ln -sfn ../bin "$rootfs/usr/bin"
ln -sfn ../bin "$rootfs/usr/sbin"
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
GROUP
echo "rrun-test" > "$rootfs/etc/hostname"
if [[ -n $probe ]]; then
    install -m 0755 -- "$probe" "$rootfs/bin/probe"
fi

rm -f -- "$dir/config.json"
"$rrun" spec --bundle "$dir"
# Non-terminal by default, so the bundle runs under any caller.
sed -i 's/"terminal": true/"terminal": false/' "$dir/config.json"
