# shellcheck shell=bash
# Shared helpers of the boot lab (sourced). Everything heavy lives OUTSIDE the repo:
#   cache (kept between runs): ${BOOT_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/arm64-builder}
#   work  (deleted after use): ${BOOT_LAB_WORK:-/var/tmp/arm64-builder-lab}
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_CACHE=${BOOT_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/arm64-builder}
LAB_WORK=${BOOT_LAB_WORK:-/var/tmp/arm64-builder-lab}
LAB_MIRROR=${BOOT_LAB_MIRROR:-http://deb.debian.org/debian}
LAB_SUITE=bookworm
# What a fresh Debian cloud image has that the boot script relies on or the harness needs (python3: the
# stand-in metadata server). gnupg is left out on purpose: the docker-ce path must install it itself.
LAB_INCLUDE=systemd-sysv,dbus,openssh-server,ca-certificates,curl,iproute2,procps,python3,kmod,less
export LAB_DIR LAB_CACHE LAB_WORK

lab_log() { printf '[boot-lab %s] %s\n' "$(date +%T)" "$*" >&2; }
lab_die() { lab_log "ERROR: $*"; exit 1; }

lab_require_root() { [[ $(id -u) == 0 ]] || lab_die "must run as root (chroot, mount, systemd-nspawn)"; }

# dpkg architecture name for the lab: amd64 (native) or arm64 (qemu-user-static).
lab_check_arch() {
  case $1 in amd64 | arm64) ;; *) lab_die "unknown arch '$1' (amd64 or arm64)" ;; esac
}

# Registers qemu-aarch64 with binfmt_misc (F flag: no qemu binary needed inside the root).
lab_ensure_binfmt() {
  [[ $1 == "$(dpkg --print-architecture)" ]] && return 0
  if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --import qemu-aarch64
  fi
  grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || lab_die "qemu-aarch64 binfmt handler not enabled"
  grep -q 'flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || lab_die "qemu-aarch64 binfmt handler lacks the F flag"
}

# Key of the debootstrap root: every parameter that changes its content.
lab_rootfs_key() {
  printf '%s\n' "v1" "$1" "$LAB_SUITE" "$LAB_MIRROR" "minbase" "$LAB_INCLUDE" | sha256sum | cut -c1-12
}

lab_rootfs_tar() { printf '%s/rootfs/%s-%s-%s.tar.zst' "$LAB_CACHE" "$LAB_SUITE" "$1" "$(lab_rootfs_key "$1")"; }

# Extracts a cached tar into a fresh directory.
lab_extract() { # tar dir
  rm -rf "$2" && mkdir -p "$2"
  zstd -dc -T0 "$1" | tar -x --numeric-owner --xattrs --xattrs-include='*' -C "$2"
  chmod 0755 "$2" # '/' of the root: services running as other users (sshd, _apt) must traverse it
}

# Packs a directory into a tar.zst atomically.
lab_pack() { # dir tar
  mkdir -p "$(dirname "$2")"
  tar -c --numeric-owner --xattrs --xattrs-include='*' --one-file-system -C "$1" . | zstd -q -T0 -3 -o "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}

# Mounts for a chroot; lab_umount_chroot undoes them (also on error, via trap in the caller).
lab_mount_chroot() {
  local root=$1
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --bind /dev "$root/dev"
  mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 2>/dev/null || true
  mount -t tmpfs tmpfs "$root/run"
  mkdir -p "$root/run/lock"
}

lab_umount_chroot() {
  local root=$1 m
  # Deepest first.
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r)
}

# Removes a work root, refusing anything outside the work dir or still mounted.
lab_remove_root() {
  local root=$1
  [[ $root == "$LAB_WORK"/* ]] || lab_die "refusing to remove $root (not under $LAB_WORK)"
  lab_umount_chroot "$root"
  if awk -v r="$root" 'index($2, r) == 1 {found=1} END {exit !found}' /proc/mounts; then lab_die "$root is still mounted"; fi
  rm -rf --one-file-system "$root"
}
