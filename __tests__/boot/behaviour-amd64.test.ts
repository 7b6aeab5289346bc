/**
 * Behavioural tier, amd64: a real Debian bookworm root (debootstrap, cached). First the boot script runs twice in a
 * chroot (image-build conditions: no systemd, network for apt); then the same root boots with systemd under
 * systemd-nspawn --private-network and the script runs as on a VM, through config changes and runs killed mid-way.
 */
import * as fs from 'fs';
import * as path from 'path';
import { RenderedBoot } from '../../templates/boot';
import { chroot, expectFast, installScript, LAB_METADATA_URL, labRoot, nspawn, ok, render, renderFiles, RunResult, Timings, tmpDir } from './lab';

const timings = new Timings('amd64 chroot + nspawn');
const root = labRoot('amd64');
const work = tmpDir('amd64');
const SCRIPT = '/usr/local/lib/lab/startup-script';
const overrides = { metadataUrl: LAB_METADATA_URL };
/** Debian's docker.io: download.docker.com is out of reach here (the docker-ce path has its own test). */
const A = render({ docker: { source: 'debian' } }, overrides);
const B = render({ docker: { source: 'debian', tcpListener: 'none' }, idleShutdownMinutes: 0, sshd: { permitRootLogin: 'yes' } }, overrides);
const filesA = renderFiles(A.content, path.join(work, 'files-a'));
const filesB = renderFiles(B.content, path.join(work, 'files-b'));

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function expectOk(r: RunResult, what: string): void {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stdout ---\n${r.stdout.slice(-6000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`);
}

function expectManagedFiles(files: Record<string, string>): void {
  for (const [file, content] of Object.entries(files)) {
    expect(`${file}:\n${fs.readFileSync(path.join(root, file), 'utf8')}`).toBe(`${file}:\n${content}`);
  }
}

function marker(): string {
  return fs.readFileSync(path.join(root, 'var/lib/buildx-node/applied'), 'utf8').trim();
}

/** Only the lines that differ, so a failing comparison of two 20 000-line listings stays readable. */
function expectSameListing(after: string, before: string): void {
  const a = new Set(after.split('\n'));
  const b = new Set(before.split('\n'));
  expect({ added: [...a].filter((l) => !b.has(l)), removed: [...b].filter((l) => !a.has(l)) }).toEqual({ added: [], removed: [] });
}

beforeAll(() => {
  const r = chroot.prepare('amd64', root);
  timings.add('prepare amd64 root (debootstrap tar: cached or built)', r.ms);
  installScript(root, A.content);
});

afterAll(() => {
  nspawn.halt(root);
  chroot.remove(root);
  fs.rmSync(work, { recursive: true, force: true });
  timings.report();
});

describe('chroot (image-build conditions: no systemd)', () => {
  test('first run: installs docker.io from Debian, writes every file, rc 0, every line tagged', () => {
    const r = chroot.run(root, SCRIPT);
    timings.add('chroot amd64: first run (apt update + docker.io install)', r.ms);
    expectOk(r, 'first chroot run');
    expect(r.stdout).toMatch(new RegExp(`buildx-node\\[finish\\]: config ${A.configHash} in place \\(full run`));
    expect(r.stdout.trim().split('\n').filter((l) => !l.startsWith('buildx-node['))).toEqual([]);
    expect(r.stdout).toContain('buildx-node[registry-auth]: WARNING: gcloud is not installed');
    expectManagedFiles(filesA);
    expect(marker()).toBe(A.configHash);
    expect(fs.existsSync(path.join(root, 'usr/sbin/dockerd'))).toBe(true);
    expect(fs.readdirSync(path.join(root, 'var/lib/buildx-node')).filter((f) => f.startsWith('pending.'))).toEqual([]);
    // Enabled for the first boot, without systemd running.
    expect(fs.readlinkSync(path.join(root, 'etc/systemd/system/timers.target.wants/buildx-node-idle.timer'))).toBe('/etc/systemd/system/buildx-node-idle.timer');
    expect(fs.readlinkSync(path.join(root, 'etc/systemd/system/multi-user.target.wants/buildx-node-ready.service'))).toBe('/etc/systemd/system/buildx-node-ready.service');
  });

  test('second run: rc 0, no apt or network work, identical files, within 1 s', () => {
    const before = chroot.fingerprint(root);
    const r = chroot.run(root, SCRIPT);
    timings.add('chroot amd64: second run (same config)', r.ms);
    expectOk(r, 'second chroot run');
    expect(r.stdout).toContain(`config ${A.configHash} already applied and intact: no apt or network work`);
    expect(r.stdout).not.toMatch(/: (apt|dpkg|gcloud): /);
    expectSameListing(chroot.fingerprint(root), before);
    expectFast(r.stdout, r.ms);
  });

  test('an earlier sshd drop-in that beats ours is a clear error line; without it the node converges', () => {
    const rogue = path.join(root, 'etc/ssh/sshd_config.d/00-aaa-image.conf');
    fs.writeFileSync(rogue, 'PermitRootLogin yes\nPasswordAuthentication yes\n');
    const r = chroot.run(root, SCRIPT);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^buildx-node\[sshd\]: ERROR: sshd: effective 'permitrootlogin yes', need 'permitrootlogin without-password': an earlier setting wins .*00-aaa-image\.conf/m);
    fs.rmSync(rogue);
    expectOk(chroot.run(root, SCRIPT), 'run after removing the rogue drop-in');
  });

  test('a TLS listener without certificates fails with a clear error line; the first config converges again', () => {
    const before = chroot.fingerprint(root);
    installScript(root, render({ docker: { source: 'debian', tcpListener: 'tls' } }, overrides).content);
    const r = chroot.run(root, SCRIPT);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('buildx-node[docker-config]: ERROR: docker TLS listener: /etc/docker/tls/ca.pem is missing');
    installScript(root, A.content);
    expectOk(chroot.run(root, SCRIPT), 'run with the first config again');
    expectSameListing(chroot.fingerprint(root), before);
  });

  test('cloud-config transport: its bootcmd writes the same script to per-boot, which applies the same files', () => {
    const cloud = render({ instance: { bootConfig: 'cloud-init' }, docker: { source: 'debian' } }, overrides);
    const bootcmd = (require('yaml').parse(cloud.content).bootcmd as string[])[0];
    installScript(root, bootcmd, 'bootcmd');
    expectOk(chroot.run(root, 'sh', '/usr/local/lib/lab/bootcmd'), 'bootcmd');
    const perBoot = path.join(root, 'var/lib/cloud/scripts/per-boot/buildx-node.sh');
    expect(fs.statSync(perBoot).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(perBoot, 'utf8')).toBe(A.content.split(A.configHash).join(cloud.configHash));
    const r = chroot.run(root, '/var/lib/cloud/scripts/per-boot/buildx-node.sh');
    expectOk(r, 'per-boot script');
    expect(r.stdout).not.toContain('wrote '); // same files as the startup-script: nothing to change
    expect(marker()).toBe(cloud.configHash);
    fs.rmSync(path.join(root, 'var/lib/cloud'), { recursive: true });
    expectOk(chroot.run(root, SCRIPT), 'startup-script again');
    expect(marker()).toBe(A.configHash);
  });
});

describe('systemd-nspawn --boot --private-network (systemd, no network)', () => {
  const inside = (script: string) => nspawn.sh(root, script);
  const must = (script: string) => {
    const r = inside(script);
    expectOk(r, script);
    return r.stdout;
  };

  /** Runs the installed script as the runner unit does at boot; returns its journal. */
  function runUnit(boot?: RenderedBoot): { code: number | null; log: string; ms: number } {
    if (boot) installScript(root, boot.content);
    const r = nspawn.exec(root, 'systemctl', 'start', 'lab-startup.service');
    const id = must('systemctl show -p InvocationID --value lab-startup.service').trim();
    return { code: r.code, log: must(`journalctl -q _SYSTEMD_INVOCATION_ID=${id} -o cat`), ms: r.ms };
  }

  /** Starts a run of `boot` and SIGKILLs it (whole cgroup) as soon as its journal matches `at`. */
  function killRun(boot: RenderedBoot, at: RegExp): string {
    installScript(root, boot.content);
    const previous = must('systemctl show -p InvocationID --value lab-startup.service').trim();
    must('systemctl start --no-block lab-startup.service');
    let id = '';
    let log = '';
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      id = id || must('systemctl show -p InvocationID --value lab-startup.service').trim();
      if (id === previous) id = '';
      if (id) {
        log = must(`journalctl -q _SYSTEMD_INVOCATION_ID=${id} -o cat`);
        if (at.test(log)) break;
      }
      sleep(20);
    }
    expect(log).toMatch(at);
    must('systemctl kill --signal=SIGKILL lab-startup.service');
    for (let i = 0; i < 100 && !/^(failed|inactive)$/m.test(inside('systemctl is-active lab-startup.service').stdout); i++) sleep(100);
    return must(`journalctl -q _SYSTEMD_INVOCATION_ID=${id} -o cat`);
  }

  /** Everything the boot configuration decides, as one comparable text. */
  function endState(): string {
    return must(`
      cd /
      sha256sum etc/docker/daemon.json etc/ssh/sshd_config etc/ssh/sshd_config.d/* etc/systemd/system/docker.service.d/* \\
        usr/local/lib/buildx-node/* var/lib/buildx-node/applied var/lib/buildx-node/manifest etc/systemd/system/buildx-node-*
      ls etc/systemd/system/*.wants/ | grep buildx-node || true
      ls var/lib/buildx-node
      for u in ssh.service docker.service containerd.service buildx-node-ready.service buildx-node-idle.timer; do
        echo "$u $(systemctl is-active $u || true) $(systemctl is-enabled $u 2>/dev/null || true)"
      done
      sshd -T -C user=root,host=localhost,addr=127.0.0.1 |
        grep -E '^(permitrootlogin|allowtcpforwarding|passwordauthentication|kbdinteractiveauthentication|pubkeyauthentication) '
      ss -Hltn '( sport = :22 or sport = :2375 or sport = :2376 )' | awk '{ print $4 }' | sort -u
      systemctl show -p ExecStart --value docker.service | grep -o 'argv\\[\\]=[^;]*'
      echo "ready=$(curl -s -H 'Metadata-Flavor: Google' ${LAB_METADATA_URL}/instance/guest-attributes/builder/ready)"
    `);
  }

  let stateA = '';
  let stateB = '';

  beforeAll(() => {
    const key = path.join(work, 'lab_key');
    ok('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'boot-lab', '-f', key]);
    fs.mkdirSync(path.join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(root, 'root/.ssh/authorized_keys'), fs.readFileSync(`${key}.pub`), { mode: 0o600 });
    fs.copyFileSync(key, path.join(root, 'root/.ssh/lab_key'));
    fs.chmodSync(path.join(root, 'root/.ssh/lab_key'), 0o600);
    const script = path.join(work, 'a.sh');
    fs.writeFileSync(script, A.content);
    nspawn.prepare(root, script);
    const r = nspawn.boot(root);
    timings.add('nspawn: boot until the boot script has run', r.ms);
    expect(r.stdout.trim()).toBe('success');
  });

  test('at boot the script ran under systemd: the chroot-applied config was recognised, readiness published', () => {
    const log = must('journalctl -q -b -u lab-startup.service -o cat');
    expect(log).toContain(`config ${A.configHash} already applied and intact: no apt or network work`);
    expect(log).toContain(`buildx-node[ready]: published guest attribute builder/ready=${A.configHash}`);
    expect(log).not.toMatch(/ERROR|WARNING/);
    const script = / \((fast) run, (\d+) ms\)/.exec(log)!;
    timings.add('nspawn: boot run of the script (fast path; waits for docker)', Number(script[2]));
  });

  test('ssh, docker, containerd, the idle timer and the readiness unit are active; sshd -T as intended', () => {
    expect(must('systemctl is-active ssh.service docker.service containerd.service buildx-node-idle.timer buildx-node-ready.service')).toBe(
      'active\nactive\nactive\nactive\nactive\n',
    );
    const sshd = must('sshd -T -C user=root,host=localhost,addr=127.0.0.1');
    for (const line of ['permitrootlogin without-password', 'allowtcpforwarding yes', 'passwordauthentication no', 'kbdinteractiveauthentication no']) {
      expect(sshd.split('\n')).toContain(line);
    }
    expect(must("docker info --format '{{.LoggingDriver}}'").trim()).toBe('json-file');
    stateA = endState();
  });

  test('the Docker API answers /_ping on 127.0.0.1:2375 and not on other addresses', () => {
    expect(must("ss -Hltn '( sport = :2375 )' | awk '{ print $4 }'")).toBe('127.0.0.1:2375\n');
    expect(must('curl -fsS --max-time 5 http://127.0.0.1:2375/_ping')).toBe('OK');
    // A second address on the (private) network namespace: sshd answers there, dockerd must not.
    must('ip addr add 10.99.0.1/32 dev lo');
    must('timeout 5 bash -c "exec 3<>/dev/tcp/10.99.0.1/22"');
    const other = inside('curl -sS --max-time 5 http://10.99.0.1:2375/_ping');
    expect(other.code).toBe(7); // connection refused
    must('ip addr del 10.99.0.1/32 dev lo');
  });

  test('dockerd 20.10 starts without the 15 s penalty on loopback; a 0.0.0.0 listener without TLS pays it', () => {
    const loopback = nspawn.exec(root, 'systemctl', 'restart', 'docker.service');
    expectOk(loopback, 'restart docker');
    timings.add('docker restart, our loopback listener (--tls=false)', loopback.ms);
    // Controls with a later drop-in: Debian's 20.10.24 sleeps 15 s for a network listener unless --tls=false is
    // given explicitly (which Engine 27+ refuses to start with).
    const control = (args: string) => {
      must(`mkdir -p /etc/systemd/system/docker.service.d && printf '[Service]\\nExecStart=\\nExecStart=/usr/sbin/dockerd -H fd:// ${args} --containerd=/run/containerd/containerd.sock\\n' > /etc/systemd/system/docker.service.d/zzz-lab-control.conf && systemctl daemon-reload`);
      const r = nspawn.exec(root, 'systemctl', 'restart', 'docker.service');
      expectOk(r, `restart docker (control: ${args})`);
      timings.add(`docker restart, control: ${args}`, r.ms);
      return r.ms;
    };
    const network = control('-H tcp://0.0.0.0:2375');
    control('-H tcp://0.0.0.0:2375 --tls=false');
    must('rm /etc/systemd/system/docker.service.d/zzz-lab-control.conf && systemctl daemon-reload && systemctl restart docker.service');
    expect(loopback.ms).toBeLessThan(8000);
    expect(network).toBeGreaterThan(14000);
    expect(endState()).toBe(stateA);
  });

  test('readiness: the stand-in metadata server received builder/ready=<config hash> with Metadata-Flavor', () => {
    const requests = fs
      .readFileSync(path.join(root, 'var/log/lab-metadata.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const puts = requests.filter((r) => r.method === 'PUT');
    expect(puts.length).toBeGreaterThanOrEqual(1);
    expect(puts[puts.length - 1]).toEqual({ method: 'PUT', path: '/computeMetadata/v1/instance/guest-attributes/builder/ready', flavor: 'Google', body: A.configHash });
    expect(requests.every((r) => r.flavor === 'Google')).toBe(true);
  });

  test('root logs in with the key, forwards a tunnel to 2375 and builds with BuildKit through it; passwords are refused', () => {
    const ssh = 'ssh -i /root/.ssh/lab_key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR';
    const start = Date.now();
    expect(must(`${ssh} root@127.0.0.1 whoami`)).toBe('root\n');
    timings.add('ssh login as root with the key', Date.now() - start);
    const password = inside(`${ssh} -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive root@127.0.0.1 true`);
    expect(password.code).toBe(255);
    expect(password.stderr).toContain('Permission denied (publickey)');
    const built = must(`
      set -e
      mkdir -p /root/ctx && printf 'hello\\n' > /root/ctx/hello && printf 'FROM scratch\\nCOPY hello /hello\\n' > /root/ctx/Dockerfile
      ${ssh} -N -o ExitOnForwardFailure=yes -L 23750:127.0.0.1:2375 root@127.0.0.1 & tunnel=$!
      for i in $(seq 50); do curl -fsS http://127.0.0.1:23750/_ping >/dev/null 2>&1 && break; sleep 0.2; done
      curl -fsS http://127.0.0.1:23750/_ping; echo
      DOCKER_BUILDKIT=1 docker -H tcp://127.0.0.1:23750 build -q -t lab/scratch /root/ctx >/dev/null
      docker -H tcp://127.0.0.1:23750 image inspect --format '{{.Os}}' lab/scratch
      kill $tunnel
    `);
    expect(built).toBe('OK\nlinux\n');
  });

  test('idle shutdown: the timer is scheduled; SSH sessions count as activity; idle past N minutes powers off (dry run)', () => {
    expect(must('systemctl show -p NextElapseUSecMonotonic --value buildx-node-idle.timer').trim()).not.toMatch(/^(0|infinity|)$/);
    expect(must('systemctl list-timers --all --no-legend buildx-node-idle.timer')).toContain('buildx-node-idle.service');
    expect(must('systemctl show -p ExecStart --value buildx-node-idle.service')).toContain('argv[]=/usr/local/lib/buildx-node/buildx-node-helper idle-check 30 ;');
    const helper = '/usr/local/lib/buildx-node/buildx-node-helper';
    const ssh = 'ssh -i /root/.ssh/lab_key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR';
    const out = must(`
      install -d /run/buildx-node && touch -d '-40 min' /run/buildx-node/last-activity
      ${ssh} root@127.0.0.1 sleep 5 & session=$!
      sleep 1.5
      ${helper} idle-check 30 --dry-run
      wait $session
      ${helper} idle-check 30 --dry-run
      touch -d '-40 min' /run/buildx-node/last-activity
      ${helper} idle-check 30 --dry-run
    `);
    expect(out).toBe(
      'buildx-node[idle]: active: connections to sshd or dockerd\n' +
        'buildx-node[idle]: idle for 0 of 30 min\n' +
        'buildx-node[idle]: no builds, containers or SSH sessions for 40 min (limit 30): powering off\n',
    );
    // The real unit, with fresh activity: it must log and leave the machine running.
    must('touch /run/buildx-node/last-activity');
    expectOk(nspawn.exec(root, 'systemctl', 'start', 'buildx-node-idle.service'), 'idle service');
    expect(must("journalctl -q -u buildx-node-idle.service -o cat | grep -F 'buildx-node[idle]' | tail -n 1")).toBe('buildx-node[idle]: idle for 0 of 30 min\n');
    expect(must('systemctl is-active ssh.service')).toBe('active\n');
  });

  test('a changed config re-applies: no TCP listener, idle shutdown off, root login yes', () => {
    const r = runUnit(B);
    timings.add('nspawn: re-apply a changed config (docker restart, sshd reload)', r.ms);
    expect(r.code).toBe(0);
    expect(r.log).toContain('sshd reloaded (its configuration changed)');
    expect(r.log).toContain('restarting docker (its configuration changed)');
    expect(r.log).toContain(`published guest attribute builder/ready=${B.configHash}`);
    expectManagedFiles(filesB);
    stateB = endState();
    expect(stateB).not.toContain('2375');
    expect(stateB).toContain('permitrootlogin yes');
    expect(stateB).toMatch(/^buildx-node-idle\.timer inactive/m);
    expect(fs.existsSync(path.join(root, 'etc/systemd/system/buildx-node-idle.timer'))).toBe(false);
  });

  test('the first config again: exactly the end state of the boot', () => {
    expect(runUnit(A).code).toBe(0);
    expect(endState()).toBe(stateA);
  });

  test('a run killed mid-way (after the sshd drop-in), then run again, converges to the same end state', () => {
    const killed = killRun(B, /buildx-node\[sshd\]: wrote/);
    expect(marker()).toBe(A.configHash); // really interrupted: the new config was not recorded
    expect(killed).not.toContain('[finish]');
    const r = runUnit(B);
    expect(r.code).toBe(0);
    expect(endState()).toBe(stateB);
  });

  test('a run killed while restarting docker, then run again, converges to the same end state', () => {
    const killed = killRun(A, /restarting docker/);
    expect(marker()).toBe(B.configHash);
    expect(killed).not.toContain('[finish]');
    const r = runUnit(A);
    expect(r.code).toBe(0);
    expect(endState()).toBe(stateA);
  });

  test('a later run with the same config does no apt/network work and takes well under 1 s', () => {
    const r = runUnit();
    expect(r.code).toBe(0);
    expect(r.log).toContain('already applied and intact');
    const ms = Number(/ \(fast run, (\d+) ms\)/.exec(r.log)![1]);
    timings.add('nspawn: same config again (script time, fast path)', ms);
    timings.add('nspawn: same config again (systemctl start, wall)', r.ms);
    expect(ms).toBeLessThanOrEqual(1000);
    expect(endState()).toBe(stateA);
  });

  test('a missing metadata server is tolerated with a clear warning', () => {
    must('systemctl stop lab-metadata.service');
    const r = runUnit();
    expect(r.code).toBe(0);
    expect(r.log).toContain('buildx-node[ready]: WARNING: could not publish builder/ready (HTTP 000)');
    must('systemctl start lab-metadata.service');
    expect(runUnit().code).toBe(0);
    expect(endState()).toBe(stateA);
  });

  test('shutdown withdraws the readiness attribute', () => {
    const r = nspawn.halt(root);
    timings.add('nspawn: orderly shutdown', r.ms);
    const last = fs.readFileSync(path.join(root, 'var/log/lab-metadata.jsonl'), 'utf8').trim().split('\n').pop()!;
    expect(JSON.parse(last)).toMatchObject({ method: 'DELETE', path: '/computeMetadata/v1/instance/guest-attributes/builder/ready' });
  });
});
