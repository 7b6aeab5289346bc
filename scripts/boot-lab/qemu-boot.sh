#!/bin/bash
# Full arm64 boot under qemu-system-aarch64 (TCG, -cpu neoverse-n1 like T2A). A fresh Debian bookworm arm64 disk
# boots with systemd and runs the rendered boot script from a runner unit (like GCE's startup-scripts), which
# installs docker.io over the user-mode network and publishes readiness to a stand-in metadata server on the host.
# The host then uses the node as a client would: ssh as root with a key, a tunnel to 127.0.0.1:2375, a BuildKit
# build through it. It reboots the VM (the later boot must take the fast path and publish readiness again), then
# powers it off. Not part of `npm test`: ~20 min cold (kernel + initramfs under emulation), a few minutes warm.
#   qemu-boot.sh [CONFIG_JSON]     default config: {"docker":{"source":"debian"}} (download.docker.com is out of reach)
# Cached in $LAB_CACHE/qemu/<key>: the root with a kernel, its vmlinuz and initrd. BOOT_LAB_KEEP=1 keeps the run dir.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_require_root
REPO=$(cd "$LAB_DIR/../.." && pwd)
config_json=${1:-'{"docker":{"source":"debian"}}'}
started=$SECONDS
failures=0
timing=()

bash "$REPO/scripts/setup-test-tools.sh" --full-boot
lab_ensure_binfmt arm64
base_tar=$("$LAB_DIR/rootfs.sh" arm64)

# ---- kernel layer (its text is part of the cache key)
LAYER_PACKAGES='linux-image-arm64 initramfs-tools'
build_layer() {
  local root=$1 out=$2
  "$LAB_DIR/chroot.sh" prepare arm64 "$root"
  # A small initramfs: the virtio disk and ext4 only (MODULES=most takes many minutes under emulation).
  mkdir -p "$root/etc/initramfs-tools/conf.d"
  printf 'MODULES=list\n' >"$root/etc/initramfs-tools/conf.d/boot-lab.conf"
  printf '%s\n' virtio_pci virtio_mmio virtio_blk ext4 >"$root/etc/initramfs-tools/modules"
  "$LAB_DIR/chroot.sh" run "$root" sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confold $LAYER_PACKAGES && apt-get clean" >"$out/build.log" 2>&1 ||
    { tail -n 30 "$out/build.log" >&2; lab_die "kernel layer: apt failed (log: $out/build.log)"; }
  printf '/dev/vda / ext4 defaults 0 1\n' >"$root/etc/fstab"
  printf 'builder-lab\n' >"$root/etc/hostname"
  mkdir -p "$root/etc/systemd/network"
  printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/10-boot-lab.network"
  "$LAB_DIR/chroot.sh" run "$root" systemctl enable --quiet systemd-networkd.service systemd-networkd-wait-online.service
  printf 'nameserver 10.0.2.3\n' >"$root/etc/resolv.conf" # QEMU user-mode network's DNS
  rm -f "$root/usr/sbin/policy-rc.d" "$root/.lab-arch"
  cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
  cp "$root"/boot/initrd.img-* "$out/initrd.img"
  lab_pack "$root" "$out/root.tar.zst"
}
# ---- end kernel layer

layer_key=$(printf '%s\n' v1 "$(basename "$base_tar")" "$LAYER_PACKAGES" "$(sed -n '/^# ---- kernel layer/,/^# ---- end kernel layer/p' "$0")" | sha256sum | cut -c1-12)
layer=$LAB_CACHE/qemu/$layer_key
if [[ ! -s $layer/root.tar.zst ]]; then
  lab_log "building the kernel layer (cache miss: $layer); the initramfs is built under emulation"
  t=$SECONDS
  mkdir -p "$layer"
  build_layer "$LAB_WORK/qemu-layer-$$" "$layer"
  lab_remove_root "$LAB_WORK/qemu-layer-$$"
  timing+=("kernel layer (cold: linux-image-arm64 + initramfs under qemu-user): $((SECONDS - t)) s")
fi

run_dir=$LAB_WORK/qemu-run-$$
root=$run_dir/root
mkdir -p "$run_dir"
qemu_pid=''
md_pid=''
cleanup() {
  [[ -z $qemu_pid ]] || kill "$qemu_pid" 2>/dev/null || true
  [[ -z $md_pid ]] || kill "$md_pid" 2>/dev/null || true
  if [[ $failures == 0 && ${BOOT_LAB_KEEP:-0} != 1 ]]; then rm -rf --one-file-system "$run_dir"; else lab_log "run dir kept: $run_dir"; fi
}
trap cleanup EXIT

# Stand-in metadata server on the host: the guest reaches the host's loopback as 10.0.2.2.
"$(command -v python3)" -u "$LAB_DIR/assets/metadata-server.py" 0 "$run_dir/metadata.jsonl" >"$run_dir/metadata.port" &
md_pid=$!
for _ in $(seq 50); do [[ -s $run_dir/metadata.port ]] && break; sleep 0.1; done
md_port=$(cat "$run_dir/metadata.port")
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ssh_port=$(free_port)

t=$SECONDS
lab_extract "$layer/root.tar.zst" "$root"
hash=$(cd "$REPO" && node -r ./scripts/ts-register.js scripts/boot-lab/render-script.ts "$run_dir/startup-script" \
  "$config_json" "{\"metadataUrl\":\"http://10.0.2.2:$md_port/computeMetadata/v1\"}")
install -D -m 0755 "$run_dir/startup-script" "$root/usr/local/lib/lab/startup-script"
install -m 0644 "$LAB_DIR/assets/lab-startup.service" "$root/etc/systemd/system/"
ln -sf /etc/systemd/system/lab-startup.service "$root/etc/systemd/system/multi-user.target.wants/lab-startup.service"
ssh-keygen -q -t ed25519 -N '' -C boot-lab -f "$run_dir/key"
install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$run_dir/key.pub" "$root/root/.ssh/authorized_keys"
truncate -s 8G "$run_dir/disk.img"
mkfs.ext4 -q -F -L root -d "$root" "$run_dir/disk.img"
rm -rf --one-file-system "$root"
timing+=("disk image from the cached layer: $((SECONDS - t)) s")

lab_log "booting (config $hash, ssh on 127.0.0.1:$ssh_port, console: $run_dir/console.log)"
t=$SECONDS
qemu-system-aarch64 -M virt -cpu neoverse-n1 -smp 2 -m 2048 -display none -monitor none \
  -serial "file:$run_dir/console.log" -kernel "$layer/vmlinuz" -initrd "$layer/initrd.img" \
  -append 'root=/dev/vda rw console=ttyAMA0' -drive "file=$run_dir/disk.img,if=virtio,format=raw" \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$ssh_port-:22" -device virtio-net-pci,netdev=n0,romfile= &
qemu_pid=$!

check() { # description command...
  local what=$1
  shift
  if "$@"; then lab_log "ok: $what"; else lab_log "FAILED: $what"; failures=$((failures + 1)); fi
}
# Waits until the metadata log has N requests "METHOD BODY" for builder/ready, like a client waiting for readiness.
wait_ready() { # count method body timeout
  local deadline=$((SECONDS + $4)) n
  while ((SECONDS < deadline)); do
    kill -0 "$qemu_pid" 2>/dev/null || { lab_log "qemu exited"; return 1; }
    n=$(grep -c "\"method\": \"$2\", \"path\": \"/computeMetadata/v1/instance/guest-attributes/builder/ready\", \"flavor\": \"Google\", \"body\": \"$3\"" "$run_dir/metadata.jsonl" 2>/dev/null) || n=0
    ((n >= $1)) && return 0
    sleep 2
  done
  return 1
}
ssh_opts=(-i "$run_dir/key" -p "$ssh_port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10)
# shellcheck disable=SC2029 # the commands are meant to run on the VM, as given
vm() { ssh "${ssh_opts[@]}" root@127.0.0.1 "$@"; }

if ! wait_ready 1 PUT "$hash" 2400; then
  tail -n 40 "$run_dir/console.log" >&2
  failures=$((failures + 1))
  lab_die "no readiness published within 40 min (console: $run_dir/console.log)"
fi
timing+=("first boot until builder/ready=$hash (boot + docker.io install + configuration): $((SECONDS - t)) s")

# Predicates of the checks (each a function, so `check` can report it by name).
has_line() { grep -qF -- "$2" <<<"$1"; }
lacks_line() { ! grep -qF -- "$2" <<<"$1"; }
services_active() {
  [[ $(vm systemctl is-active ssh docker containerd buildx-node-idle.timer buildx-node-ready | sort -u) == active ]]
}
docker_listens_on_loopback_only() {
  [[ $(vm "ss -Hltn '( sport = :2375 )'" | awk '{ print $4 }') == 127.0.0.1:2375 ]]
}
idle_timer_scheduled() { vm systemctl list-timers --no-legend buildx-node-idle.timer | grep -q buildx-node-idle.service; }

journal=$(vm journalctl -b -u lab-startup.service -o cat)
check "first boot: a full run applied config $hash" has_line "$journal" "config $hash in place (full run"
check "first boot: the script installed docker.io" has_line "$journal" 'buildx-node[packages]: installed: docker.io'
check "first boot: no ERROR lines" lacks_line "$journal" 'ERROR'
check "ssh, docker, containerd, the idle timer and the readiness unit are active" services_active
effective=$(vm sshd -T -C user=root,host=localhost,addr=127.0.0.1)
for want in 'permitrootlogin without-password' 'allowtcpforwarding yes' 'passwordauthentication no' 'kbdinteractiveauthentication no'; do
  check "sshd -T: $want" grep -qx "$want" <<<"$effective"
done
check "dockerd listens on 127.0.0.1:2375 only" docker_listens_on_loopback_only
check "the idle timer is scheduled" idle_timer_scheduled

# The client path: an SSH tunnel to the loopback listener, then Docker through it.
tunnel_port=$(free_port)
ssh "${ssh_opts[@]}" -N -o ExitOnForwardFailure=yes -L "127.0.0.1:$tunnel_port:127.0.0.1:2375" root@127.0.0.1 &
tunnel_pid=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$tunnel_port/_ping" >/dev/null 2>&1 && break; sleep 0.2; done
ping_through_tunnel() { [[ $(curl -fsS "http://127.0.0.1:$tunnel_port/_ping") == OK ]]; }
# Debian's docker.io client (setup-test-tools.sh): it builds with BuildKit itself, without a buildx plugin.
docker_cli=/usr/bin/docker
node_is_aarch64() { [[ $("$docker_cli" -H "tcp://127.0.0.1:$tunnel_port" info --format '{{.Architecture}}') == aarch64 ]]; }
check "Docker API through the SSH tunnel: /_ping" ping_through_tunnel
check "the node is aarch64" node_is_aarch64
mkdir -p "$run_dir/ctx"
printf 'hello from the boot lab\n' >"$run_dir/ctx/hello"
printf 'FROM scratch\nCOPY hello /hello\n' >"$run_dir/ctx/Dockerfile"
t=$SECONDS
check "BuildKit build through the tunnel" env DOCKER_BUILDKIT=1 "$docker_cli" -H "tcp://127.0.0.1:$tunnel_port" build -q -t boot-lab/scratch "$run_dir/ctx"
timing+=("BuildKit build through the tunnel: $((SECONDS - t)) s")
kill "$tunnel_pid" 2>/dev/null || true

# A later boot: readiness is withdrawn at shutdown, then published again by the fast path.
t=$SECONDS
vm systemctl reboot || true
check "shutdown withdrew builder/ready" wait_ready 1 DELETE '' 600
if wait_ready 2 PUT "$hash" 1200; then
  timing+=("reboot until builder/ready again: $((SECONDS - t)) s")
  journal=$(vm journalctl -b -u lab-startup.service -o cat)
  check "second boot: the fast path" has_line "$journal" 'already applied and intact: no apt or network work'
  check "second boot: no apt" lacks_line "$journal" ': apt: '
  fast=$(grep -o '(fast run, [0-9]* ms)' <<<"$journal" || true)
  timing+=("second boot: script $fast (includes waiting for docker to start)")
else
  check "second boot published readiness" false
fi

vm systemctl poweroff || true
for _ in $(seq 120); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 1; done
powered_off() { ! kill -0 "$qemu_pid" 2>/dev/null; }
check "powered off" powered_off
qemu_pid=''
timing+=("total: $((SECONDS - started)) s")
printf '%s\n' "qemu full boot (config $hash):" "${timing[@]/#/  }" >&2
if ((failures)); then lab_die "$failures check(s) failed"; fi
lab_log "qemu full boot: all checks passed"
