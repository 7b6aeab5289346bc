/**
 * Behavioural tier, arm64: the same chroot run in a Debian bookworm arm64 root (debootstrap, cached), executed
 * through qemu-user-static. Its first run is killed inside dpkg, as a preempted first boot would be: the next run
 * must recover and converge; the run after that must be the fast no-op.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { chroot, expectFast, installScript, LAB, LAB_METADATA_URL, labRoot, render, renderFiles, Timings, tmpDir } from './lab';

const timings = new Timings('arm64 chroot (qemu-user-static)');
const root = labRoot('arm64');
const work = tmpDir('arm64');
const SCRIPT = '/usr/local/lib/lab/startup-script';
const A = render({ docker: { source: 'debian' } }, { metadataUrl: LAB_METADATA_URL });
const filesA = renderFiles(A.content, path.join(work, 'files'));

beforeAll(() => {
  const r = chroot.prepare('arm64', root);
  timings.add('prepare arm64 root (debootstrap tar: cached or built)', r.ms);
  installScript(root, A.content);
});

afterAll(() => {
  chroot.remove(root);
  fs.rmSync(work, { recursive: true, force: true });
  timings.report();
});

/** Starts the script in the root and SIGKILLs the whole process group once its output matches `at`. */
function killRunAt(at: RegExp, timeoutMs = 15 * 60 * 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(LAB, 'chroot.sh'), 'run', root, SCRIPT], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let killed = false;
    const timer = setTimeout(() => reject(new Error(`no match for ${at} within ${timeoutMs} ms:\n${out.slice(-3000)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      if (!killed && at.test(out)) {
        killed = true;
        process.kill(-child.pid!, 'SIGKILL');
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', () => {
      clearTimeout(timer);
      if (killed) resolve(out);
      else reject(new Error(`the run ended before ${at} matched:\n${out.slice(-3000)}`));
    });
  });
}

test('the root is arm64 and runs through qemu-user-static', () => {
  const r = chroot.run(root, 'sh', '-c', 'dpkg --print-architecture; uname -m');
  expect(r.stdout).toBe('arm64\naarch64\n');
});

test('a first run killed inside dpkg (a preempted first boot) leaves dpkg interrupted', async () => {
  const start = Date.now();
  const out = await killRunAt(/: apt: Unpacking /);
  timings.add('arm64: first run until killed inside dpkg', Date.now() - start);
  expect(out).not.toContain('[finish]');
  expect(fs.existsSync(path.join(root, 'var/lib/buildx-node/applied'))).toBe(false);
  expect(chroot.run(root, 'dpkg', '--audit').stdout).not.toBe('');
});

test('the next run recovers dpkg, installs docker.io and configures the node: rc 0', () => {
  const r = chroot.run(root, SCRIPT);
  timings.add('arm64: run after the kill (dpkg recovery + docker.io install)', r.ms);
  if (r.code !== 0) throw new Error(`rc ${r.code}\n${r.stdout.slice(-5000)}\n${r.stderr.slice(-3000)}`);
  expect(r.stdout).toContain('dpkg was interrupted earlier: dpkg --configure -a');
  expect(r.stdout).toMatch(new RegExp(`buildx-node\\[finish\\]: config ${A.configHash} in place \\(full run`));
  expect(chroot.run(root, 'dpkg', '--audit').stdout).toBe('');
  for (const [file, content] of Object.entries(filesA)) {
    expect(`${file}:\n${fs.readFileSync(path.join(root, file), 'utf8')}`).toBe(`${file}:\n${content}`);
  }
  // dockerd is an aarch64 ELF (e_machine 183) and runs.
  const elf = fs.readFileSync(path.join(root, 'usr/sbin/dockerd')).subarray(0, 20);
  expect(elf.readUInt16LE(18)).toBe(183);
  expect(chroot.run(root, 'docker', '--version').stdout).toMatch(/^Docker version 20\.10\./);
});

test('second run: rc 0, no apt or network work, identical files, within 1 s', () => {
  const before = chroot.fingerprint(root);
  const r = chroot.run(root, SCRIPT);
  timings.add('arm64: second run (same config)', r.ms);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`config ${A.configHash} already applied and intact: no apt or network work`);
  expect(r.stdout).not.toMatch(/: (apt|dpkg|gcloud): /);
  expect(chroot.fingerprint(root)).toBe(before);
  expectFast(r.stdout, r.ms);
});
