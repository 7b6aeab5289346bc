#!/bin/bash
# Chroot runner of the boot lab: runs a boot script in a Debian root the way an image build would (no systemd).
#   chroot.sh prepare ARCH DIR    fresh DIR from the cached debootstrap root (built on a miss), with the
#                                 harness-only policy-rc.d (apt must not start daemons in a chroot)
#   chroot.sh run DIR CMD...      CMD inside DIR, in a private mount namespace with /proc, /sys, /dev and a
#                                 fresh /run (like a boot); apt's .deb files are cached outside the repo
#   chroot.sh fingerprint DIR     every path with type, mode, owner, size and content hash (not mtimes)
#   chroot.sh remove DIR
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_require_root

root_arch() { cat "$1/.lab-arch" 2>/dev/null || lab_die "$1 was not made by 'chroot.sh prepare'"; }

cmd=${1:-}
shift || true
case $cmd in
  prepare)
    arch=${1:?usage: chroot.sh prepare ARCH DIR}
    dir=${2:?usage: chroot.sh prepare ARCH DIR}
    lab_check_arch "$arch"
    [[ $dir == "$LAB_WORK"/* ]] || lab_die "DIR must be under $LAB_WORK"
    lab_ensure_binfmt "$arch"
    tar_path=$("$LAB_DIR/rootfs.sh" "$arch")
    lab_remove_root "$dir" 2>/dev/null || true
    lab_extract "$tar_path" "$dir"
    printf '%s\n' "$arch" >"$dir/.lab-arch"
    printf '#!/bin/sh\n# boot-lab harness only: no daemons start inside a chroot\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod 0755 "$dir/usr/sbin/policy-rc.d"
    cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
    ;;
  run)
    dir=${1:?usage: chroot.sh run DIR CMD...}
    shift
    arch=$(root_arch "$dir")
    lab_ensure_binfmt "$arch"
    # .deb cache per arch and root name (amd64-123 → amd64): test files running side by side do not share one.
    name=$(basename "$dir" | sed 's/-[0-9]*$//')
    archives="$LAB_CACHE/apt-archives/$arch-$name"
    mkdir -p "$archives/partial"
    apt_uid=$(awk -F: '$1 == "_apt" { print $3 }' "$dir/etc/passwd")
    [[ -z $apt_uid ]] || chown "$apt_uid" "$archives/partial"
    # One run at a time per archive cache (apt locks it; two runs of the same test would trip over the lock).
    exec 8>"$archives.lock"
    flock 8
    exec unshare --mount --propagation private -- "$0" _in_namespace "$dir" "$archives" "$@"
    ;;
  _in_namespace)
    dir=$1 archives=$2
    shift 2
    mount -t proc proc "$dir/proc"
    mount -t sysfs sysfs "$dir/sys"
    mount --rbind /dev "$dir/dev"
    mount -t tmpfs -o mode=0755 tmpfs "$dir/run"
    mkdir -p "$dir/run/lock"
    mount --bind "$archives" "$dir/var/cache/apt/archives"
    # The environment of a boot-time runner: nothing from the caller's shell.
    exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$dir" "$@"
    ;;
  fingerprint)
    dir=${1:?usage: chroot.sh fingerprint DIR}
    cd "$dir" || exit 1
    find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ./tmp -o -path ./var/cache/apt/archives \) -prune -o \
      -printf '%p %y %m %U:%G %s %l\n' | LC_ALL=C sort >"$LAB_WORK/.fp.$$"
    find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ./tmp -o -path ./var/cache/apt/archives \) -prune -o \
      -type f -print0 | xargs -0 -r sha256sum | LC_ALL=C sort -k2 >>"$LAB_WORK/.fp.$$"
    cat "$LAB_WORK/.fp.$$"
    rm -f "$LAB_WORK/.fp.$$"
    ;;
  remove)
    lab_remove_root "${1:?usage: chroot.sh remove DIR}"
    rm -f "$1".*
    ;;
  *)
    sed -n '2,9p' "$0" >&2
    exit 2
    ;;
esac
