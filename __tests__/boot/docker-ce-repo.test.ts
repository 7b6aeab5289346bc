/**
 * The docker-ce path (the default), proven against a stand-in for download.docker.com: a local apt repository
 * signed with a throwaway key (scripts/boot-lab/fake-docker-repo.sh), served on 127.0.0.1, which the chroot shares.
 * A wrong fingerprint must stop the run with a clear error before apt trusts anything.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DOCKER_APT_KEY_FINGERPRINT } from '../../config/facts';
import { chroot, expectFast, installScript, LAB, LAB_METADATA_URL, labRoot, ok, render, Timings, tmpDir } from './lab';

const timings = new Timings('docker-ce stand-in repository (amd64 chroot)');
const root = labRoot('docker-ce');
const work = tmpDir('docker-ce');
const repo = path.join(work, 'repo');
const SCRIPT = '/usr/local/lib/lab/startup-script';
let server: ChildProcess;
let url = '';
let fingerprint = '';

const script = (keyFingerprint: string) =>
  render({ docker: { source: 'docker-ce', aptUrl: url, aptKeyFingerprint: keyFingerprint } }, { metadataUrl: LAB_METADATA_URL });

beforeAll(async () => {
  fingerprint = ok('bash', [path.join(LAB, 'fake-docker-repo.sh'), repo]).stdout.trim();
  expect(fingerprint).toMatch(/^[0-9A-F]{40}$/);
  server = spawn('/usr/bin/python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', repo], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<number>((resolve, reject) => {
    server.stdout!.on('data', (d) => {
      const m = /port (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    });
    server.on('exit', (code) => reject(new Error(`http.server exited ${code}`)));
  });
  url = `http://127.0.0.1:${port}`;
  const r = chroot.prepare('amd64', root);
  timings.add('prepare amd64 root', r.ms);
});

afterAll(() => {
  server?.kill();
  chroot.remove(root);
  fs.rmSync(work, { recursive: true, force: true });
  timings.report();
});

test('a key whose fingerprint is not the configured one stops the run before apt trusts it', () => {
  expect(fingerprint).not.toBe(DOCKER_APT_KEY_FINGERPRINT);
  installScript(root, script(DOCKER_APT_KEY_FINGERPRINT).content);
  const r = chroot.run(root, SCRIPT);
  timings.add('docker-ce: run with a wrong fingerprint (installs gpg, then fails)', r.ms);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(
    `buildx-node[packages]: ERROR: Docker apt key fingerprint mismatch: expected ${DOCKER_APT_KEY_FINGERPRINT}, got '${fingerprint}' from ${url}/gpg; apt will not trust it`,
  );
  expect(fs.existsSync(path.join(root, 'etc/apt/keyrings/docker.asc'))).toBe(false);
  expect(fs.existsSync(path.join(root, 'etc/apt/sources.list.d/docker.list'))).toBe(false);
  expect(chroot.run(root, 'dpkg-query', '-W', 'docker-ce').code).not.toBe(0);
});

test('the right fingerprint: keyring in /etc/apt/keyrings, a signed-by source for this arch and codename, the four packages', () => {
  const boot = script(fingerprint);
  installScript(root, boot.content);
  const r = chroot.run(root, SCRIPT);
  timings.add('docker-ce: first run with the right fingerprint', r.ms);
  if (r.code !== 0) throw new Error(`rc ${r.code}\n${r.stdout.slice(-5000)}\n${r.stderr.slice(-3000)}`);
  expect(r.stdout).toContain(`Docker apt key fingerprint verified: ${fingerprint}`);
  expect(fs.readFileSync(path.join(root, 'etc/apt/keyrings/docker.asc'), 'utf8')).toBe(fs.readFileSync(path.join(repo, 'gpg'), 'utf8'));
  expect(fs.readFileSync(path.join(root, 'etc/apt/sources.list.d/docker.list'), 'utf8')).toBe(
    `deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] ${url} bookworm stable\n`,
  );
  const pkgs = chroot.run(root, 'dpkg-query', '-W', '-f=${Package} ${db:Status-Abbrev}\n', 'docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-buildx-plugin');
  expect(pkgs.stdout.split('\n').filter(Boolean).map((l) => l.trim()).sort()).toEqual(['containerd.io ii', 'docker-buildx-plugin ii', 'docker-ce ii', 'docker-ce-cli ii']);
  // docker-ce's dockerd lives in /usr/bin: the drop-in points there.
  expect(fs.existsSync(path.join(root, 'usr/bin/dockerd'))).toBe(true);
  expect(fs.readFileSync(path.join(root, 'etc/systemd/system/docker.service.d/zz-buildx-node.conf'), 'utf8')).toContain('ExecStart=/usr/bin/dockerd -H fd://');
  expect(fs.readFileSync(path.join(root, 'var/lib/buildx-node/applied'), 'utf8').trim()).toBe(boot.configHash);
});

test('second run: rc 0, no apt or network work, identical files, within 1 s', () => {
  const before = chroot.fingerprint(root);
  const r = chroot.run(root, SCRIPT);
  timings.add('docker-ce: second run', r.ms);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('already applied and intact: no apt or network work');
  expect(r.stdout).not.toMatch(/fetching|: (apt|dpkg): /);
  expect(chroot.fingerprint(root)).toBe(before);
  expectFast(r.stdout, r.ms);
});
