#!/bin/bash
# Installs the Debian tools the boot tests need, only those missing (one dpkg-query when all are present: well
# under a second). `apt-get update` runs once, only when something must be installed.
#   bash scripts/setup-test-tools.sh               tools of `npx jest -c jest.boot.config.js`
#   bash scripts/setup-test-tools.sh --full-boot   also qemu-system-aarch64 for scripts/boot-lab/qemu-boot.sh
set -euo pipefail

packages=(
  shellcheck        # lint of every rendered script
  openssh-server    # sshd -t / sshd -T on the rendered sshd drop-in
  openssh-client    # ssh-keygen
  systemd           # systemd-analyze verify
  systemd-container # systemd-nspawn
  debootstrap       # the Debian roots (cached under ~/.cache/arm64-builder)
  qemu-user-static  # the arm64 root
  binfmt-support    # update-binfmts for qemu-aarch64
  cloud-init        # cloud-init schema
  docker.io         # a real dockerd validates daemon.json
  python3           # stand-in metadata server and apt repository
  gpg               # signing the stand-in Docker apt repository
  dpkg-dev          # dpkg-scanpackages for that repository
  zstd              # the cached root tars
  curl
  util-linux        # unshare, nsenter
)
if [[ ${1:-} == --full-boot ]]; then
  packages+=(
    qemu-system-arm # qemu-system-aarch64 (TCG); direct kernel boot, so no UEFI firmware package is needed
    e2fsprogs       # mkfs.ext4 -d builds the disk image without loop devices
  )
elif [[ -n ${1:-} ]]; then
  echo "usage: $0 [--full-boot]" >&2
  exit 2
fi

[[ $(id -u) == 0 ]] || { echo "setup-test-tools: run as root (the boot tests need root anyway)" >&2; exit 1; }

missing=()
while read -r status name; do
  [[ $status == ii ]] || missing+=("$name")
done < <(for p in "${packages[@]}"; do
  dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$p" 2>/dev/null || echo "-- $p"
done)

if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "setup-test-tools: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
