/**
 * Static tier: every config of the matrix is rendered; the script and every file it would write are checked by
 * the tools that run them (bash, shellcheck, sshd -t/-T, systemd-analyze verify, cloud-init schema, dockerd).
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import YAML from 'yaml';
import { escapeForTerraform, TEMPLATE_DIR } from '../../templates/render';
import { BuilderInput } from '../../config/schema';
import { MATRIX, ok, render, renderFiles, run, scriptFromCloudConfig, Timings, tmpDir } from './lab';

const timings = new Timings('static');
afterAll(() => timings.report());

const SSHD_KEYS = ['permitrootlogin', 'allowtcpforwarding', 'passwordauthentication', 'kbdinteractiveauthentication', 'pubkeyauthentication'];

function sshdT(mainConfig: string, hostKey: string): Record<string, string> {
  fs.mkdirSync('/run/sshd', { recursive: true });
  ok('/usr/sbin/sshd', ['-t', '-f', mainConfig, '-h', hostKey]);
  const out = ok('/usr/sbin/sshd', ['-T', '-f', mainConfig, '-h', hostKey, '-C', 'user=root,host=localhost,addr=127.0.0.1']).stdout;
  const values: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const [k, ...v] = line.split(' ');
    if (SSHD_KEYS.includes(k)) values[k] = v.join(' ');
  }
  return values;
}

/** A Debian sshd_config whose Include points at `dropins` instead of /etc/ssh/sshd_config.d. */
function sshdMainConfig(dir: string, dropins: string): string {
  const debian = fs.readFileSync('/etc/ssh/sshd_config', 'utf8');
  const include = /^Include \/etc\/ssh\/sshd_config\.d\/\*\.conf$/m;
  expect(debian).toMatch(include);
  const main = path.join(dir, 'sshd_config');
  fs.writeFileSync(main, debian.replace(include, `Include ${dropins}/*.conf`));
  return main;
}

// dockerd is started once per distinct daemon.json.
const dockerdVerdicts = new Map<string, Promise<string>>();

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: socket, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** Starts a real dockerd with the file; resolves 'ok' once it answers, or with its error output if it exits. */
async function dockerdAccepts(daemonJson: string): Promise<string> {
  const dir = tmpDir('dockerd');
  const config = path.join(dir, 'daemon.json');
  fs.writeFileSync(config, daemonJson);
  const socket = path.join(dir, 'docker.sock');
  let output = '';
  const child: ChildProcess = spawn(
    'dockerd',
    ['--config-file', config, '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
      '--pidfile', path.join(dir, 'docker.pid'), '-H', `unix://${socket}`, '--iptables=false', '--bridge=none'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let verdict = '';
  try {
    for (let i = 0; i < 150 && !verdict; i++) {
      if (child.exitCode !== null) verdict = `dockerd exited ${child.exitCode}: ${output.split('\n').slice(-5).join('\n')}`;
      else if (await ping(socket)) {
        const info = ok('docker', ['-H', `unix://${socket}`, 'info', '--format', '{{.LoggingDriver}}']).stdout.trim();
        verdict = info === 'json-file' ? 'ok' : `unexpected logging driver ${info}`;
      } else await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15000).unref())]);
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return verdict || 'dockerd did not answer within 30 s';
}

function dockerdVerdict(daemonJson: string): Promise<string> {
  if (!dockerdVerdicts.has(daemonJson)) dockerdVerdicts.set(daemonJson, dockerdAccepts(daemonJson));
  return dockerdVerdicts.get(daemonJson)!;
}

/** A root for `systemd-analyze verify --root`: the host's unit files, the rendered files and stub executables. */
function verifyRoot(dir: string, files: Record<string, string>, executables: string[]): string {
  const root = path.join(dir, 'verify-root');
  fs.mkdirSync(path.join(root, 'usr/lib/systemd'), { recursive: true });
  fs.cpSync('/usr/lib/systemd/system', path.join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  for (const link of ['bin', 'sbin', 'lib']) {
    fs.mkdirSync(path.join(root, 'usr', link), { recursive: true });
    fs.symlinkSync(`usr/${link}`, path.join(root, link));
  }
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content, { mode: file.includes('/usr/local/lib/') ? 0o755 : 0o644 });
  }
  for (const exe of executables) {
    const p = path.join(root, exe);
    if (!fs.existsSync(p)) {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, '#!/bin/sh\n', { mode: 0o755 });
    }
  }
  return root;
}

describe('templates', () => {
  const boot = [
    ...['startup-script.sh.hbs', 'cloud-config.yaml.hbs'].map((f) => path.join(TEMPLATE_DIR, f)),
    ...fs.readdirSync(path.join(TEMPLATE_DIR, 'partials')).filter((f) => f.startsWith('boot-')).map((f) => path.join(TEMPLATE_DIR, 'partials', f)),
  ];

  test('every interpolated value goes through q (shell) or y (YAML)', () => {
    const bare: string[] = [];
    for (const file of boot) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(\\?)\{\{(~?)([^}]*)\}\}/g)) {
        const [whole, escaped, , inner] = m;
        if (escaped) continue; // \{{ is a literal {{ (a Go template for docker)
        const body = inner.trim();
        if (/^[>#/!]/.test(body) || body === 'else' || /^[qy] \S+$/.test(body)) continue;
        bare.push(`${path.basename(file)}: ${whole}`);
      }
    }
    expect(bare).toEqual([]);
  });

  test('rendering is deterministic and the hash follows every byte', () => {
    const a = render({});
    expect(render({})).toEqual(a);
    expect(a.configHash).toMatch(/^[0-9a-f]{16}$/);
    expect(a.content).toContain(`readonly CONFIG_HASH='${a.configHash}'`);
    const hashes = new Set(Object.values(MATRIX).map((input) => render(input).configHash));
    // 'spot' changes nothing on the VM, so it shares the defaults' hash; every other entry differs.
    expect(hashes.size).toBe(Object.keys(MATRIX).length - 1);
    expect(render({ instance: { spot: true } }).configHash).toBe(a.configHash);
  });

  test('values with quotes, $ and backticks stay literal (shell quoting)', () => {
    const r = render({}, { instanceName: `it's $(reboot) \`x\` "y"` });
    const file = path.join(tmpDir('quoting'), 'boot.sh');
    fs.writeFileSync(file, r.content);
    const out = ok('bash', ['-c', 'export BUILDX_NODE_LIBRARY_ONLY=1; source "$1"; printf %s "$INSTANCE_NAME"', '_', file]).stdout;
    fs.rmSync(path.dirname(file), { recursive: true });
    expect(out).toBe(`it's $(reboot) \`x\` "y"`);
  });

  test('Terraform escaping covers ${ and %{ and round-trips', () => {
    for (const input of [MATRIX.defaults, MATRIX['cloud-init (ubuntu image)']]) {
      const { content } = render(input);
      expect(content).toContain('${');
      expect(content).toContain('%{');
      const escaped = escapeForTerraform(content);
      expect(escaped).not.toMatch(/(?<!\$)\$\{/);
      expect(escaped).not.toMatch(/(?<!%)%\{/);
      expect(escaped.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')).toBe(content);
    }
  });

  test('a negative control: dockerd rejects a bad daemon.json', async () => {
    expect(await dockerdAccepts('{"log-opts": {"max-size": "10m"}, "no-such-option": true}\n')).toMatch(/don't match any configuration option/);
  });
});

describe.each(Object.entries(MATRIX))('%s', (name: string, input: BuilderInput) => {
  const rendered = render(input);
  const dir = tmpDir(name.replace(/\W+/g, '-'));
  const isCloudInit = rendered.kind === 'cloud-init';
  let script = rendered.content;
  let bootcmd = '';
  if (isCloudInit) {
    const doc = YAML.parse(rendered.content);
    bootcmd = doc.bootcmd[0];
    script = scriptFromCloudConfig(rendered.content, bootcmd);
  }
  const scriptFile = path.join(dir, 'boot.sh');
  fs.writeFileSync(scriptFile, script, { mode: 0o755 });
  const files = renderFiles(script, path.join(dir, 'files'));
  const helper = files['/usr/local/lib/buildx-node/buildx-node-helper'];
  const cfg = isCloudInit ? 'cloud-config' : 'startup-script';
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test(`renders a ${cfg} under the right metadata key`, () => {
    expect(rendered.metadataKey).toBe(isCloudInit ? 'user-data' : 'startup-script');
    expect(rendered.content).not.toMatch(/undefined|\[object Object\]/);
  });

  test('bash -n and shellcheck: the boot script and the helper it installs', () => {
    const helperFile = path.join(dir, 'helper.sh');
    fs.writeFileSync(helperFile, helper);
    for (const f of [scriptFile, helperFile]) {
      ok('bash', ['-n', f]);
      const sc = run('shellcheck', ['-s', 'bash', f]);
      expect(`${f}\n${sc.stdout}${sc.stderr}`).toBe(`${f}\n`);
      expect(sc.code).toBe(0);
    }
  });

  test('sshd -t accepts the drop-in and sshd -T shows the intended values, also behind cloud image drop-ins', () => {
    const want = {
      permitrootlogin: input.sshd?.permitRootLogin === 'yes' ? 'yes' : 'without-password',
      allowtcpforwarding: 'yes',
      passwordauthentication: 'no',
      kbdinteractiveauthentication: 'no',
      pubkeyauthentication: 'yes',
    };
    const dropins = path.join(dir, 'sshd_config.d');
    fs.mkdirSync(dropins);
    const ours = Object.entries(files).find(([p]) => p.startsWith('/etc/ssh/sshd_config.d/'))!;
    fs.writeFileSync(path.join(dropins, path.basename(ours[0])), ours[1]);
    ok('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'hostkey')]);
    const main = sshdMainConfig(dir, dropins);
    expect(sshdT(main, path.join(dir, 'hostkey'))).toEqual(want);
    // Ubuntu's cloud images and cloud-init write these; they sort after ours, so ours still wins.
    fs.writeFileSync(path.join(dropins, '50-cloud-init.conf'), 'PasswordAuthentication yes\n');
    fs.writeFileSync(path.join(dropins, '60-cloudimg-settings.conf'), 'PasswordAuthentication no\nPermitRootLogin no\n');
    expect(sshdT(main, path.join(dir, 'hostkey'))).toEqual(want);
  });

  test('systemd-analyze verify: every unit and the docker drop-in, nothing on stderr', () => {
    const units = Object.keys(files).filter((f) => /\.(service|timer)$/.test(f) || f.includes('.service.d/'));
    expect(units.length).toBeGreaterThanOrEqual(isCloudInit || input.idleShutdownMinutes === 0 ? 2 : 4);
    const dockerd = /ExecStart=(\S+) -H fd:\/\//.exec(files['/etc/systemd/system/docker.service.d/zz-buildx-node.conf'])![1];
    const root = verifyRoot(dir, files, [dockerd, '/usr/bin/true', '/usr/bin/kill']);
    const targets = units.map((u) => (u.includes('.service.d/') ? '/usr/lib/systemd/system/docker.service' : u));
    for (const unit of [...new Set(targets)]) {
      const r = run('systemd-analyze', ['verify', `--root=${root}`, unit]);
      expect(`${unit}: ${r.stderr}${r.stdout}`).toBe(`${unit}: `);
      expect(r.code).toBe(0);
    }
  });

  test('the docker drop-in: fd:// plus the configured listener, never a network listener without TLS', () => {
    const dropin = files['/etc/systemd/system/docker.service.d/zz-buildx-node.conf'];
    expect(dropin).toMatch(/^ExecStart=$/m);
    const execStart = dropin.split('\n').filter((l) => l.startsWith('ExecStart=/'));
    expect(execStart).toHaveLength(1);
    const listener = input.docker?.tcpListener ?? 'loopback';
    if (listener === 'loopback') expect(execStart[0]).toContain(' -H fd:// -H tcp://127.0.0.1:2375 --tls=false ');
    if (listener === 'tls') expect(execStart[0]).toMatch(/ -H tcp:\/\/0\.0\.0\.0:2376 --tlsverify --tlscacert=\/etc\/docker\/tls\/ca\.pem /);
    if (listener === 'none') expect(execStart[0]).not.toContain('tcp://');
    const source = input.docker?.source ?? 'docker-ce';
    expect(execStart[0]).toMatch(source === 'debian' ? /^ExecStart=\/usr\/sbin\/dockerd / : /^ExecStart=\/usr\/bin\/dockerd /);
  });

  test('daemon.json: GC cap and log rotation, accepted by a real dockerd', async () => {
    const json = files['/etc/docker/daemon.json'];
    const parsed = JSON.parse(json);
    expect(parsed['log-opts']).toEqual({ 'max-size': input.docker?.logMaxSize ?? '10m', 'max-file': String(input.docker?.logMaxFiles ?? 3) });
    expect(parsed.builder.gc).toEqual({ enabled: true, defaultKeepStorage: `${input.docker?.gcKeepStorageGb ?? 20}GB` });
    expect(await dockerdVerdict(json)).toBe('ok');
  });

  if (isCloudInit) {
    test('cloud-init schema accepts the cloud-config', () => {
      const file = path.join(dir, 'user-data.yaml');
      fs.writeFileSync(file, rendered.content);
      const r = ok('cloud-init', ['schema', '-c', file]);
      expect(r.stdout).toContain('Valid cloud-config');
      expect(rendered.content.startsWith('#cloud-config\n')).toBe(true);
    });

    test('bootcmd (sh -n) writes the very script the startup-script variant runs', () => {
      const bootcmdFile = path.join(dir, 'bootcmd.sh');
      fs.writeFileSync(bootcmdFile, bootcmd);
      ok('sh', ['-n', bootcmdFile]);
      const asStartupScript = render({ ...input, instance: { ...input.instance, bootConfig: 'startup-script' } });
      expect(script).toBe(asStartupScript.content.split(asStartupScript.configHash).join(rendered.configHash));
      if (/ubuntu/.test(input.instance?.image ?? '') && (input.docker?.source ?? 'docker-ce') === 'docker-ce') {
        expect(script).toContain("readonly DOCKER_APT_URL='https://download.docker.com/linux/ubuntu'");
      }
    });
  }
});
