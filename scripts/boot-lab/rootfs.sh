#!/bin/bash
# Builds (once) and caches a minimal Debian bookworm root for ARCH with debootstrap; prints the tar's path.
# The cache key covers every debootstrap parameter, so a changed package list builds a new tar.
#   usage: rootfs.sh amd64|arm64
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
arch=${1:?usage: rootfs.sh amd64|arm64}
lab_check_arch "$arch"
lab_require_root
tar_path=$(lab_rootfs_tar "$arch")
if [[ -s $tar_path ]]; then
  printf '%s\n' "$tar_path"
  exit 0
fi
lab_ensure_binfmt "$arch"
mkdir -p "$LAB_WORK" "$(dirname "$tar_path")"
exec 9>"$tar_path.lock"
flock 9
[[ -s $tar_path ]] && { printf '%s\n' "$tar_path"; exit 0; }
root=$(mktemp -d "$LAB_WORK/debootstrap-$arch.XXXXXX")
trap 'lab_remove_root "$root"' EXIT
start=$SECONDS
lab_log "debootstrap $LAB_SUITE $arch into $root (cache miss: $tar_path)"
debootstrap --variant=minbase --arch="$arch" --include="$LAB_INCLUDE" "$LAB_SUITE" "$root" "$LAB_MIRROR" >"$root.log" 2>&1 ||
  { tail -n 30 "$root.log" >&2; lab_die "debootstrap failed (log: $root.log)"; }
rm -f "$root.log"
# A cloud image's apt lists are empty too; drop debootstrap's caches to keep the tar small.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages
printf 'deb %s %s main\ndeb %s %s-updates main\n' "$LAB_MIRROR" "$LAB_SUITE" "$LAB_MIRROR" "$LAB_SUITE" >"$root/etc/apt/sources.list"
chmod 0755 "$root"
lab_pack "$root" "$tar_path"
lab_log "rootfs $arch ready in $((SECONDS - start)) s: $tar_path ($(du -h "$tar_path" | cut -f1))"
printf '%s\n' "$tar_path"
