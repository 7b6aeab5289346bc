/**
 * The real CLI against stand-in gcloud/docker/ssh-add/terraform (__tests__/cli/stubs): exact commands issued,
 * files created and removed, exit codes and one-line messages.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { buildProgram } from '../../../cli/main';
import { Cleanup } from '../../../cli/context';
import { freePort, ROOT, World, world } from './harness';

const I = 'builder-arm64-2cpu';
const AT = '--zone=us-central1-a --project=demo-project';
const DESCRIBE = `gcloud compute instances describe ${I} ${AT} --format=json --quiet`;
const READY = `gcloud compute instances get-guest-attributes ${I} ${AT} --query-path=builder/ready --format=value(value) --quiet`;

let w: World;

/** A process that exited but was not reaped (no init reaps in some containers) counts as gone. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
afterEach(() => w?.dispose());

/** One line, says what to do, no stack trace, and never the private key. */
function expectOneLine(text: string, w: World): void {
  const lines = text.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(text).toMatch(/^arm64-builder: /);
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toContain(fs.readFileSync(w.keyFile, 'utf8').split('\n')[1]);
}

describe('start / stop / status', () => {
  test('start: starts, waits for RUNNING and the published config hash', async () => {
    w = world();
    const r = await w.run('start');
    expect(r.code).toBe(0);
    expect(w.calls()).toEqual([
      DESCRIBE,
      `gcloud compute instances start ${I} ${AT} --async --quiet`,
      DESCRIBE,
      DESCRIBE,
      READY,
    ]);
    expect(r.err).toContain('state STAGING');
    expect(r.err).toContain(`is ready: Docker answers (boot config ${w.hash})`);
    expect(r.out).toBe(`${I} ready; next: arm64-builder connect`);
  });

  test('start: never ready -> timeout, exit 3, one line pointing at the boot log', async () => {
    w = world();
    w.set('status', 'RUNNING'); // deterministic under load: already RUNNING, Docker never reports
    w.set('never_ready');
    const r = await w.run('start', '--timeout', '0.05');
    expect(r.code).toBe(3);
    const last = r.err.split('\n').pop()!;
    expect(last).toMatch(/^arm64-builder: timed out after 0.05s waiting for builder-arm64-2cpu: Docker did not report ready; read the boot log with `gcloud compute instances get-serial-port-output/);
  });

  test('start: a VM running another boot config times out naming deploy and --any-config', async () => {
    w = world();
    w.set('status', 'RUNNING');
    w.set('ready_value', '0123456789abcdef');
    const r = await w.run('start', '--timeout', '0.05');
    expect(r.code).toBe(3);
    expect(r.err).toContain(`the VM runs boot config 0123456789abcdef but this config renders ${w.hash}; deploy the stack, or pass --any-config`);
    const ok = await w.run('start', '--any-config');
    expect(ok.code).toBe(0);
    expect(w.calls('gcloud').filter((c) => c.includes('instances start'))).toEqual([]); // already RUNNING
  });

  test.each([
    ['instance_missing', 'instance builder-arm64-2cpu not found in project demo-project, zone us-central1-a: deploy the stack first, or check instance.name and zone in the config'],
    ['not_logged_in', 'gcloud is not logged in: run `gcloud auth login` (in CI, activate a service account), then retry'],
    ['project_missing', 'project demo-project not found or not accessible: check projectId in the config (or BUILDER_PROJECT_ID) and the account in `gcloud auth list`'],
    ['start_denied', 'permission denied (compute.instances.start) while trying to start instance builder-arm64-2cpu: ask a project admin to add you to access.operators (or grant the role) and deploy'],
  ])('start: %s -> one line, exit 1', async (scenario, message) => {
    w = world();
    w.set(scenario);
    const r = await w.run('start');
    expect(r.code).toBe(1);
    const last = r.err.split('\n').pop()!;
    expect(last).toBe(`arm64-builder: ${message}`);
    expectOneLine(last, w);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  test('gcloud missing -> one line naming the install, nothing run', async () => {
    w = world({}, { path: fs.mkdtempSync(path.join(require('os').tmpdir(), 'empty-path-')) });
    const r = await w.run('status');
    expect(r.code).toBe(1);
    expect(r.err).toBe('arm64-builder: gcloud not found on PATH: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install) and put gcloud on PATH');
  });

  test('stop and status (spot, machine type, idle shutdown)', async () => {
    w = world({ instance: { spot: true }, idleShutdownMinutes: 45 });
    w.set('status', 'RUNNING');
    w.set('spot');
    const s = await w.run('status');
    expect(s.code).toBe(0);
    expect(s.out).toContain('state         RUNNING');
    expect(s.out).toContain('ready         yes');
    expect(s.out).toContain('machine type  t2a-standard-2');
    expect(s.out).toContain('provisioning  spot');
    expect(s.out).toContain('idle shutdown after 45 min idle');
    expect(s.out).toContain('connection    not connected');
    const r = await w.run('stop');
    expect(r.code).toBe(0);
    expect(w.calls().pop()).toBe(`gcloud compute instances stop ${I} ${AT} --quiet`);
    const j = JSON.parse((await w.run('status', '--json')).out);
    expect(j).toMatchObject({ state: 'TERMINATED', ready: false, spot: true, idleShutdownMinutes: 45 });
  });

  test('config errors exit 2 before any tool runs', async () => {
    w = world({ zone: 'us-east1-b' });
    const r = await w.run('status');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^arm64-builder: invalid config .*\n {2}- zone: "us-east1-b" is not allowed: must be a zone that offers T2A/);
    expect(w.calls()).toEqual([]);
  });
});

describe('connect / disconnect', () => {
  test('tunnel: 4047 twice then success; key file 0600 during, gone after; context + two-node builder; disconnect undoes it', async () => {
    w = world();
    w.set('status', 'RUNNING');
    w.set('iap_4047', '2');
    const port = await freePort();
    const r = await w.run('connect', '--port', String(port));
    expect(r.code).toBe(0);

    const ssh = w.calls('gcloud').filter((c) => c.startsWith('gcloud compute ssh'));
    expect(ssh).toHaveLength(3);
    // The BuildKit GC cap for the docker-container nodes (daemon.json GC does not reach them).
    expect(fs.readFileSync(path.join(w.state, 'builder-arm64-2cpu', 'buildkitd.toml'), 'utf8')).toContain('gckeepstorage = "20GB"');
    const keyFile = /--ssh-key-file=(\S+)/.exec(ssh[0])![1];
    expect(ssh[0]).toBe(
      `gcloud compute ssh root@${I} ${AT} --tunnel-through-iap --ssh-key-file=${keyFile} --quiet -- -L 127.0.0.1:${port}:127.0.0.1:2375 -N -o ExitOnForwardFailure=yes -o ServerAliveInterval=30`,
    );
    expect(path.dirname(path.dirname(keyFile))).toBe(w.tmp);
    for (const n of [1, 2, 3]) expect(w.read(`tunnel-key-${n}`)).toBe('600\npub\n');
    expect(fs.readdirSync(w.tmp)).toEqual([]); // key dir removed once the tunnel authenticated
    expect(r.err.match(/IAP cannot reach builder-arm64-2cpu yet \(ERROR: .*4047: 'Failed to lookup instance'/g)).toHaveLength(2);

    expect(w.calls('docker')).toEqual([
      'docker context inspect builder-arm64-2cpu-tunnel',
      `docker context create builder-arm64-2cpu-tunnel --description arm64 builder ${I} (arm64-builder connect) --docker host=tcp://127.0.0.1:${port}`,
      'docker --context builder-arm64-2cpu-tunnel version --format {{.Server.Arch}}',
      'docker buildx inspect builder-arm64-2cpu-multiarch',
      'docker context show',
      `docker buildx create --name builder-arm64-2cpu-multiarch --driver docker-container --buildkitd-config ${path.join(w.state, 'builder-arm64-2cpu', 'buildkitd.toml')} --platform linux/amd64 --node builder-arm64-2cpu-multiarch-amd64 default`,
      `docker buildx create --name builder-arm64-2cpu-multiarch --append --buildkitd-config ${path.join(w.state, 'builder-arm64-2cpu', 'buildkitd.toml')} --node builder-arm64-2cpu-multiarch-arm64 --platform linux/arm64 builder-arm64-2cpu-tunnel`,
    ]);
    expect(r.out).toContain('docker buildx build --builder builder-arm64-2cpu-multiarch --platform linux/amd64,linux/arm64');
    expect(r.out + r.err).not.toContain('PRIVATE KEY');

    const stateDir = path.join(w.state, I);
    const pid = Number(fs.readFileSync(path.join(stateDir, 'tunnel.pid'), 'utf8'));
    expect(alive(pid)).toBe(true);

    const again = await w.run('connect', '--port', String(port));
    expect(again.code).toBe(0);
    expect(again.err).toContain('already connected (tunnel)');

    const d = await w.run('disconnect');
    expect(d.code).toBe(0);
    expect(d.out).toBe(`disconnected: removed buildx builder builder-arm64-2cpu-multiarch, docker context builder-arm64-2cpu-tunnel, tunnel (pid ${pid})`);
    expect(w.calls('docker').slice(-2)).toEqual([
      'docker buildx rm --keep-state builder-arm64-2cpu-multiarch',
      'docker context rm --force builder-arm64-2cpu-tunnel',
    ]);
    expect(fs.readdirSync(stateDir)).toEqual([]);
    expect(fs.readdirSync(path.join(w.stub, 'docker'))).toEqual([]);
    await new Promise((res) => setTimeout(res, 50));
    expect(alive(pid)).toBe(false);
  });

  test('IAP permission denied -> one line, exit 1, key removed, no tunnel recorded', async () => {
    w = world();
    w.set('status', 'RUNNING');
    w.set('iap_denied');
    const r = await w.run('connect', '--port', String(await freePort()));
    expect(r.code).toBe(1);
    expect(r.err.split('\n').pop()).toBe(
      'arm64-builder: IAP denied the tunnel to builder-arm64-2cpu: you need roles/iap.tunnelResourceAccessor on it (add yourself to access.operators and deploy)',
    );
    expect(w.calls('gcloud').filter((c) => c.startsWith('gcloud compute ssh'))).toHaveLength(1); // a denial is not retried
    expect(fs.readdirSync(w.tmp)).toEqual([]);
    expect(fs.readdirSync(path.join(w.state, I)).sort()).toEqual(['tunnel.log']);
    expect(w.calls('docker')).toEqual([]);
  });

  test('tunnel port in use -> one line before the key is even read', async () => {
    w = world();
    w.set('status', 'RUNNING');
    const net = await import('net');
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((res) => busy.once('listening', res));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await w.run('connect', '--port', String(port));
      expect(r.code).toBe(1);
      expect(r.err).toBe(`arm64-builder: port ${port} on 127.0.0.1 is in use (another tunnel or a local Docker?): run \`disconnect\`, or pass --port with a free port`);
      expect(w.calls('gcloud')).toEqual([]);
    } finally {
      busy.close();
    }
  });

  test('tunnel up but Docker never answers -> timeout, exit 3, says to disconnect', async () => {
    w = world();
    w.set('status', 'RUNNING');
    w.set('docker_down');
    const r = await w.run('connect', '--port', String(await freePort()), '--timeout', '0.6');
    expect(r.code).toBe(3);
    expect(r.err.split('\n').pop()).toBe(
      "arm64-builder: the builder's Docker does not answer through builder-arm64-2cpu-tunnel (Cannot connect to the Docker daemon at tcp://127.0.0.1:" +
        /127.0.0.1:(\d+)/.exec(r.err)![1] +
        '. Is the docker daemon running?): check `status` (is it ready?) and retry; run `disconnect` before retrying',
    );
    expect(fs.readdirSync(w.tmp)).toEqual([]);
    expect((await w.run('disconnect')).code).toBe(0);
  });

  test('stopped VM: connect says to start; secret access denied is one line', async () => {
    w = world();
    const r = await w.run('connect', '--port', String(await freePort()));
    expect(r.code).toBe(1);
    expect(r.err).toBe('arm64-builder: builder-arm64-2cpu is TERMINATED: run `start` first (or `connect --start`)');
    w.set('status', 'RUNNING');
    w.set('secret_denied');
    const s = await w.run('connect', '--port', String(await freePort()));
    expect(s.code).toBe(1);
    expect(s.err).toMatch(/^arm64-builder: permission denied \(secretmanager.versions.access\) while trying to read secret build-google_compute_engine-ssh-priv/);
  });

  test('docker missing -> one line, nothing started', async () => {
    const only = fs.mkdtempSync(path.join(require('os').tmpdir(), 'gcloud-only-'));
    fs.symlinkSync(path.join(__dirname, 'stubs', 'gcloud'), path.join(only, 'gcloud'));
    w = world({}, { path: only });
    const r = await w.run('connect');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^arm64-builder: docker not found on PATH: install Docker with the buildx plugin/);
    fs.rmSync(only, { recursive: true });
  });

  test('--ssh: key into ssh-agent (file 0600, then gone), ssh config include, ssh:// context; disconnect removes them', async () => {
    w = world();
    w.set('status', 'RUNNING');
    w.env.SSH_AUTH_SOCK = path.join(w.dir, 'agent.sock');
    fs.writeFileSync(path.join(w.home, 'placeholder'), '');
    fs.mkdirSync(path.join(w.home, '.ssh'));
    fs.writeFileSync(path.join(w.home, '.ssh', 'config'), 'Host example\n  User me\n');
    const r = await w.run('connect', '--ssh');
    expect(r.code).toBe(0);
    const add = w.calls('ssh-add');
    expect(add).toHaveLength(1);
    expect(add[0]).toMatch(new RegExp(`^ssh-add -q -t 12h ${w.tmp}/arm64-builder-key-\\w+/id_ed25519$`));
    expect(w.read('ssh-add-key-mode')).toBe('600\n');
    expect(fs.readdirSync(w.tmp)).toEqual([]);
    const stateDir = path.join(w.state, I);
    const userCfg = fs.readFileSync(path.join(w.home, '.ssh', 'config'), 'utf8');
    expect(userCfg).toBe(`# BEGIN arm64-builder ${I}\nInclude "${stateDir}/ssh_config"\n# END arm64-builder ${I}\nHost example\n  User me\n`);
    const sshCfg = fs.readFileSync(path.join(stateDir, 'ssh_config'), 'utf8');
    expect(sshCfg).toContain(`Host ${I}\n  User root\n  IdentityFile "${stateDir}/id_ed25519.pub"\n  IdentitiesOnly yes`);
    expect(sshCfg).toContain('ProxyCommand gcloud compute start-iap-tunnel %h 22 --listen-on-stdin --zone=us-central1-a --project=demo-project');
    expect(fs.readFileSync(path.join(stateDir, 'id_ed25519.pub'), 'utf8')).toMatch(/^ssh-ed25519 /);
    expect(w.calls('docker')[1]).toBe(`docker context create builder-arm64-2cpu-ssh --description arm64 builder ${I} (arm64-builder connect) --docker host=ssh://root@${I}`);
    expect(w.calls('gcloud').some((c) => c.startsWith('gcloud compute ssh'))).toBe(false);

    const d = await w.run('disconnect');
    expect(d.code).toBe(0);
    expect(w.calls('ssh-add').pop()).toBe(`ssh-add -d ${stateDir}/id_ed25519.pub`);
    expect(fs.readFileSync(path.join(w.home, '.ssh', 'config'), 'utf8')).toBe('Host example\n  User me\n');
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });

  test('--ssh without ssh-agent -> one line', async () => {
    w = world();
    const r = await w.run('connect', '--ssh');
    expect(r.code).toBe(1);
    expect(r.err).toBe('arm64-builder: connect --ssh keeps the key in ssh-agent, and none is running: run `eval "$(ssh-agent)"` and retry');
  });

  test('Ctrl-C while the tunnel hangs: exit 130, key file and tunnel process gone (the bin, as a child process)', async () => {
    w = world();
    w.set('status', 'RUNNING');
    w.set('tunnel_hang');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/arm64-builder.js'), 'connect', '--port', String(await freePort())], {
      env: { ...w.env, BUILDER_POLL_MS: '20' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const pidFile = path.join(w.state, I, 'tunnel.pid');
    for (let i = 0; i < 200 && !(fs.existsSync(path.join(w.stub, 'tunnel-key-1')) && fs.existsSync(pidFile)); i++) {
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(fs.readdirSync(w.tmp)).toHaveLength(1); // the key dir exists while connecting
    const tunnelPid = Number(fs.readFileSync(pidFile, 'utf8'));
    child.kill('SIGINT');
    const code = await new Promise((res) => child.on('exit', res));
    expect(code).toBe(130);
    expect(err).toContain('arm64-builder: interrupted (SIGINT); temporary key files removed');
    expect(fs.readdirSync(w.tmp)).toEqual([]);
    await new Promise((res) => setTimeout(res, 50));
    expect(alive(tunnelPid)).toBe(false);
  });
});

describe('keys rotate', () => {
  test("external: new pair, both secrets, instance metadata, publicKeyFile, older versions disabled, key never printed", async () => {
    w = world();
    const pubFile = path.join(w.dir, 'builder.pub');
    fs.writeFileSync(pubFile, fs.readFileSync(`${w.keyFile}.pub`));
    fs.writeFileSync(w.configFile, JSON.stringify({ projectId: 'demo-project', sshKey: { mode: 'external', publicKeyFile: 'builder.pub' } }));
    const r = await w.run('keys', 'rotate');
    expect(r.code).toBe(0);
    const g = w.calls('gcloud');
    const priv = 'build-google_compute_engine-ssh-priv';
    const pub = 'build-google_compute_engine-ssh-pub';
    expect(g[0]).toMatch(new RegExp(`^gcloud secrets versions add ${priv} --project=demo-project --data-file=${w.tmp}/arm64-builder-rotate-\\w+/id_ed25519 --format=value\\(name\\) --quiet$`));
    expect(g[1]).toMatch(new RegExp(`^gcloud secrets versions add ${pub} --project=demo-project --data-file=.*/id_ed25519.pub`));
    expect(g[2]).toMatch(new RegExp(`^gcloud compute instances add-metadata ${I} ${AT} --metadata-from-file=ssh-keys=.*/ssh-keys --quiet$`));
    expect(g.slice(3)).toEqual([
      `gcloud secrets versions list ${priv} --project=demo-project --filter=state=ENABLED --format=value(name) --quiet`,
      `gcloud secrets versions disable 1 --secret=${priv} --project=demo-project --quiet`,
      `gcloud secrets versions disable 2 --secret=${priv} --project=demo-project --quiet`,
      `gcloud secrets versions list ${pub} --project=demo-project --filter=state=ENABLED --format=value(name) --quiet`,
      `gcloud secrets versions disable 1 --secret=${pub} --project=demo-project --quiet`,
      `gcloud secrets versions disable 2 --secret=${pub} --project=demo-project --quiet`,
    ]);
    expect(w.read(`added-${priv}.mode`)).toBe('600\n');
    const newPub = w.read(`added-${pub}`).trim();
    expect(newPub).toMatch(/^ssh-ed25519 AAAA\S+ root@builder-arm64-2cpu$/);
    expect(newPub).not.toBe(fs.readFileSync(`${w.keyFile}.pub`, 'utf8').trim());
    expect(w.read('ssh-keys')).toBe(`root:${newPub}\n`);
    expect(fs.readFileSync(pubFile, 'utf8')).toBe(`${newPub}\n`);
    const newPriv = w.read(`added-${priv}`);
    expect(r.out + r.err).not.toContain(newPriv.split('\n')[1]);
    expect(r.out).toContain('disabled 4 older version(s)');
    expect(fs.readdirSync(w.tmp)).toEqual([]);
  });

  test('generate: terraform apply -replace (dry run prints it; without a synth it says to synth first)', async () => {
    w = world();
    const dry = await w.run('keys', 'rotate', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toBe(`terraform -chdir=cdktf.out/stacks/${I} apply -replace=tls_private_key.builder_ssh_key`);
    const out = path.join(w.dir, 'out');
    const real = await w.run('keys', 'rotate', '--out-dir', out);
    expect(real.code).toBe(1);
    expect(real.err).toBe(`arm64-builder: ${out}/stacks/${I}/cdk.tf.json is missing: run the synth first (npm run synth), then keys rotate`);
    fs.mkdirSync(path.join(out, 'stacks', I), { recursive: true });
    fs.writeFileSync(path.join(out, 'stacks', I, 'cdk.tf.json'), '{}');
    const ok = await w.run('keys', 'rotate', '--out-dir', out, '--yes');
    expect(ok.code).toBe(0);
    expect(w.calls()).toEqual([`terraform -chdir=${out}/stacks/${I} apply -replace=tls_private_key.builder_ssh_key -auto-approve`]);
  });
});

describe('cloud-build', () => {
  test('submits the rendered config with every substitution', async () => {
    w = world();
    const src = path.join(w.dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'Dockerfile'), 'FROM scratch\n');
    const r = await w.run('cloud-build', src, '--image', 'us-docker.pkg.dev/demo-project/docker/web', '--tag', 'v1', '--no-start-stop');
    expect(r.code).toBe(0);
    const call = w.calls('gcloud')[0];
    expect(call).toMatch(
      new RegExp(
        `^gcloud builds submit ${src} --config=${w.tmp}/arm64-builder-cb-\\w+/cloudbuild.${I}.yaml --project=demo-project ` +
          '--substitutions=_IMAGE=us-docker.pkg.dev/demo-project/docker/web,_TAG=v1,_DOCKERFILE=Dockerfile,_CONTEXT=.,_AUTO_START_STOP=false,_READY_TIMEOUT=600$',
      ),
    );
    const { renderCloudBuild } = await import('../../../templates/cloudbuild');
    const { loadConfig } = await import('../../../config/load');
    expect(w.read('submitted.yaml')).toBe(renderCloudBuild(loadConfig({ file: w.configFile, env: {} })[0], { configHash: w.hash }));
    expect(fs.readdirSync(w.tmp)).toEqual([]);

    const missing = await w.run('cloud-build', src, '--dockerfile', 'nope/Dockerfile');
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`arm64-builder: nope/Dockerfile not found in ${src}: pass --dockerfile (relative to the source directory)`);
  });
});

/**
 * docs/everyday-use.md (pasted into the README): every CLI command it shows exists, with the options it uses,
 * as the CLI's own --help reports them; (the README's "Everyday use" section).
 */

const doc = fs.readFileSync(path.resolve(__dirname, '../../../docs/everyday-use.md'), 'utf8');

function helpOf(cmd: Command): string {
  return cmd.helpInformation();
}

function find(program: Command, words: string[]): { cmd: Command; rest: string[] } {
  let cmd = program;
  let i = 0;
  for (; i < words.length; i++) {
    const sub = cmd.commands.find((c) => c.name() === words[i]);
    if (!sub) break;
    cmd = sub;
  }
  return { cmd, rest: words.slice(i) };
}

test('every `npm run builder -- …` command in the everyday-use docs exists with its options', () => {
  const program = buildProgram({ out: () => undefined, err: () => undefined }, {}, new Cleanup());
  const lines = [...doc.matchAll(/npm run builder -- ([^\n`#]+)/g)].map((m) => m[1].trim());
  expect(lines.length).toBeGreaterThanOrEqual(10);
  const seen = new Set<string>();
  for (const line of lines) {
    const words = line.split(/\s+/);
    if (words[0] === 'COMMAND') continue;
    const { cmd, rest } = find(program, words);
    expect(cmd).not.toBe(program);
    seen.add(cmd.name());
    const help = helpOf(cmd);
    for (const opt of rest.filter((w) => w.startsWith('--'))) expect(help).toContain(opt);
  }
  expect([...seen].sort()).toEqual(['cloud-build', 'connect', 'disconnect', 'rotate', 'start', 'status', 'stop']);
  // `arm64-builder --help` lists every command the docs rely on.
  const top = helpOf(program);
  for (const c of ['start', 'stop', 'status', 'connect', 'disconnect', 'keys', 'cloud-build']) expect(top).toMatch(new RegExp(`\\n  ${c}\\b`));
});

test('a new user runs every documented command in order: each succeeds', async () => {
  w = world();
  w.env.SSH_AUTH_SOCK = path.join(w.dir, 'agent.sock');
  fs.writeFileSync(path.join(w.dir, 'Dockerfile'), 'FROM scratch\n');
  fs.mkdirSync(path.join(w.dir, 'service'));
  fs.writeFileSync(path.join(w.dir, 'service', 'Dockerfile'), 'FROM scratch\n');
  const stackDir = path.join(w.dir, 'cdktf.out', 'stacks', I);
  fs.mkdirSync(stackDir, { recursive: true });
  fs.writeFileSync(path.join(stackDir, 'cdk.tf.json'), '{}'); // "synth first"
  const lines = [...doc.matchAll(/npm run builder -- ([^\n`#]+)/g)].map((m) => m[1].trim()).filter((l) => l !== 'COMMAND');
  for (const line of lines) {
    const argv = line.split(/\s+/);
    const r = await w.run(...argv);
    expect({ line, code: r.code, err: r.code ? r.err : '' }).toEqual({ line, code: 0, err: '' });
  }
  expect(w.calls('terraform')).toEqual([`terraform -chdir=cdktf.out/stacks/${I} apply -replace=tls_private_key.builder_ssh_key`]);
  expect(w.calls('gcloud').filter((c) => c.startsWith('gcloud builds submit'))).toHaveLength(1);
  expect((await w.run('disconnect')).code).toBe(0);
});

test('the names the docs show are the ones connect creates', () => {
  expect(doc).toContain('--builder builder-arm64-2cpu-multiarch');
  expect(doc).toContain('docker --context builder-arm64-2cpu-tunnel ps');
});
