#!/bin/bash
# systemd-nspawn runner of the boot lab: boots a Debian root with systemd and no network, like a VM whose boot
# script runs from a startup-script runner.
#   nspawn.sh prepare DIR SCRIPT   make a root from 'chroot.sh prepare' bootable: drop the harness's policy-rc.d,
#                                  install SCRIPT as the boot script, the stand-in runner unit (lab-startup,
#                                  like google-startup-scripts.service) and metadata server (127.0.0.1:8099)
#   nspawn.sh boot DIR [TIMEOUT]   boot in the background; wait until lab-startup.service has run; prints its result
#   nspawn.sh exec DIR CMD...      run CMD inside the running container (its namespaces, a clean environment)
#   nspawn.sh wait-unit DIR UNIT [TIMEOUT]   wait until a oneshot UNIT has run; prints success or its result
#   nspawn.sh halt DIR             orderly shutdown (SIGTERM to nspawn), waits for it
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_require_root

leader_of() { cat "$1.nspawn.leader" 2>/dev/null || lab_die "$1 is not running (nspawn.sh boot first)"; }

in_container() {
  local dir=$1
  shift
  nsenter -t "$(leader_of "$dir")" -m -u -i -n -p -r -w -- \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb "$@"
}

# A oneshot unit has run once it has left 'active/activating' at least once since boot.
wait_unit() {
  local dir=$1 unit=$2 timeout=${3:-300} deadline state active result entered
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    state=$(in_container "$dir" systemctl show -p ActiveState -p Result -p InactiveEnterTimestampMonotonic "$unit" 2>/dev/null) || state=''
    active=$(sed -n 's/^ActiveState=//p' <<<"$state")
    result=$(sed -n 's/^Result=//p' <<<"$state")
    entered=$(sed -n 's/^InactiveEnterTimestampMonotonic=//p' <<<"$state")
    if [[ $active == failed ]] || [[ $active == inactive && ${entered:-0} != 0 ]]; then
      printf '%s\n' "$result"
      return 0
    fi
    sleep 0.5
  done
  lab_die "$unit did not finish within $timeout s"
}

cmd=${1:-}
shift || true
case $cmd in
  prepare)
    dir=${1:?usage: nspawn.sh prepare DIR SCRIPT}
    script=${2:?usage: nspawn.sh prepare DIR SCRIPT}
    [[ -f $dir/.lab-arch ]] || lab_die "$dir was not made by 'chroot.sh prepare'"
    rm -f "$dir/usr/sbin/policy-rc.d"
    install -d -m 0755 "$dir/usr/local/lib/lab"
    install -m 0755 "$script" "$dir/usr/local/lib/lab/startup-script"
    install -m 0644 "$LAB_DIR/assets/metadata-server.py" "$dir/usr/local/lib/lab/metadata-server.py"
    install -m 0644 "$LAB_DIR/assets/lab-startup.service" "$LAB_DIR/assets/lab-metadata.service" "$dir/etc/systemd/system/"
    for unit in lab-startup.service lab-metadata.service; do
      ln -sf "/etc/systemd/system/$unit" "$dir/etc/systemd/system/multi-user.target.wants/$unit"
    done
    printf 'lab\n' >"$dir/etc/hostname"
    ;;
  boot)
    dir=${1:?usage: nspawn.sh boot DIR [TIMEOUT]}
    timeout=${2:-300}
    [[ ! -e $dir.nspawn.pid ]] || ! kill -0 "$(cat "$dir.nspawn.pid")" 2>/dev/null || lab_die "$dir is already running"
    name=lab-$(basename "$dir" | tr -c 'a-zA-Z0-9\n' '-' | cut -c1-40)
    systemd-nspawn --quiet --register=no --keep-unit --boot --private-network --console=pipe \
      -D "$dir" -M "$name" </dev/null >"$dir.console.log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$dir.nspawn.pid"
    leader=''
    for _ in $(seq 100); do
      leader=$(ps -o pid= --ppid "$pid" 2>/dev/null | head -n1 | tr -d ' ') || true
      [[ -n $leader ]] && [[ -e /proc/$leader/root/run/systemd/system ]] && break
      kill -0 "$pid" 2>/dev/null || { cat "$dir.console.log" >&2; lab_die "systemd-nspawn exited"; }
      sleep 0.1
    done
    [[ -n $leader ]] || lab_die "no container init under nspawn pid $pid"
    printf '%s\n' "$leader" >"$dir.nspawn.leader"
    wait_unit "$dir" lab-startup.service "$timeout"
    ;;
  exec)
    dir=${1:?usage: nspawn.sh exec DIR CMD...}
    shift
    in_container "$dir" "$@"
    ;;
  wait-unit)
    wait_unit "${1:?usage: nspawn.sh wait-unit DIR UNIT [TIMEOUT]}" "${2:?}" "${3:-300}"
    ;;
  halt)
    dir=${1:?usage: nspawn.sh halt DIR}
    pid=$(cat "$dir.nspawn.pid" 2>/dev/null) || exit 0
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      if kill -0 "$pid" 2>/dev/null; then
        lab_log "container did not halt within 60 s: terminating it (second SIGTERM)"
        kill -TERM "$pid"
        for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        ! kill -0 "$pid" 2>/dev/null || kill -KILL "$pid"
      fi
    fi
    rm -f "$dir.nspawn.pid" "$dir.nspawn.leader"
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
