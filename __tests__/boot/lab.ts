/**
 * Shared helpers of the boot tests: the config matrix, rendering, and thin wrappers around scripts/boot-lab.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { builderSchema, BuilderInput } from '../../config/schema';
import { BootVars, renderBoot, RenderedBoot } from '../../templates/boot';

export const REPO = path.resolve(__dirname, '../..');
export const LAB = path.join(REPO, 'scripts/boot-lab');
export const LAB_WORK = process.env.BOOT_LAB_WORK ?? '/var/tmp/arm64-builder-lab';
export const KEEP = process.env.BOOT_LAB_KEEP === '1';
/** Where the stand-in metadata server of the nspawn tier listens (BootVars.metadataUrl override). */
export const LAB_METADATA_URL = 'http://127.0.0.1:8099/computeMetadata/v1';

/** The matrix every static check runs on. */
export const MATRIX: Record<string, BuilderInput> = {
  defaults: {},
  'debian docker source': { docker: { source: 'debian' } },
  'tls listener': { docker: { tcpListener: 'tls' } },
  'no listener': { docker: { tcpListener: 'none' } },
  'idle 0': { idleShutdownMinutes: 0 },
  spot: { instance: { spot: true } },
  'root login yes, two registries': {
    sshd: { permitRootLogin: 'yes' },
    docker: { registryHosts: ['us-docker.pkg.dev', 'europe-west4-docker.pkg.dev'], gcKeepStorageGb: 50, logMaxSize: '50m', logMaxFiles: 5 },
  },
  'cloud-init (ubuntu image)': { instance: { image: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-arm64' } },
  'cloud-init, debian source, no listener': {
    instance: { bootConfig: 'cloud-init' },
    docker: { source: 'debian', tcpListener: 'none' },
    idleShutdownMinutes: 0,
  },
};

export function config(input: BuilderInput) {
  return builderSchema.parse(input);
}

export function render(input: BuilderInput, overrides: Partial<BootVars> = {}): RenderedBoot {
  return renderBoot(config(input), overrides);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): RunResult {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    input: opts.input,
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 15 * 60 * 1000,
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}\n${tail(r.stdout ?? '')}\n${tail(r.stderr ?? '')}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms };
}

/** Runs and throws (with the output) unless the exit code is 0. */
export function ok(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): RunResult {
  const r = run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`);
  }
  return r;
}

export function tail(text: string, lines = 60): string {
  return text.split('\n').slice(-lines).join('\n');
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `boot-test-${prefix}-`));
}

/** A fresh root for one test file, under the lab's work dir (outside the repo). */
export function labRoot(name: string): string {
  fs.mkdirSync(LAB_WORK, { recursive: true });
  return path.join(LAB_WORK, `${name}-${process.pid}`);
}

export const chroot = {
  prepare: (arch: 'amd64' | 'arm64', dir: string) => ok('bash', [path.join(LAB, 'chroot.sh'), 'prepare', arch, dir]),
  run: (dir: string, ...cmd: string[]) => run('bash', [path.join(LAB, 'chroot.sh'), 'run', dir, ...cmd]),
  fingerprint: (dir: string) => ok('bash', [path.join(LAB, 'chroot.sh'), 'fingerprint', dir]).stdout,
  remove: (dir: string) => {
    if (!KEEP) run('bash', [path.join(LAB, 'chroot.sh'), 'remove', dir]);
  },
};

export const nspawn = {
  prepare: (dir: string, script: string) => ok('bash', [path.join(LAB, 'nspawn.sh'), 'prepare', dir, script]),
  boot: (dir: string) => ok('bash', [path.join(LAB, 'nspawn.sh'), 'boot', dir, '300']),
  exec: (dir: string, ...cmd: string[]) => run('bash', [path.join(LAB, 'nspawn.sh'), 'exec', dir, ...cmd], { timeoutMs: 180_000 }),
  sh: (dir: string, script: string) => run('bash', [path.join(LAB, 'nspawn.sh'), 'exec', dir, 'bash', '-c', script], { timeoutMs: 180_000 }),
  halt: (dir: string) => run('bash', [path.join(LAB, 'nspawn.sh'), 'halt', dir]),
};

/** Writes a rendered boot script into a root (where the chroot runner executes it) and returns its path there. */
export function installScript(root: string, content: string, name = 'startup-script'): string {
  const inRoot = `/usr/local/lib/lab/${name}`;
  fs.mkdirSync(path.join(root, 'usr/local/lib/lab'), { recursive: true });
  fs.writeFileSync(path.join(root, inRoot), content, { mode: 0o755 });
  return inRoot;
}

/** Timings of one test file, printed at its end and appended to $BOOT_LAB_WORK/timings.jsonl. */
export class Timings {
  private readonly rows: Array<[string, number]> = [];
  private readonly start = Date.now();
  constructor(private readonly tier: string) {}
  add(what: string, ms: number): void {
    this.rows.push([what, ms]);
  }
  report(): void {
    this.add(`${this.tier} tier total`, Date.now() - this.start);
    const lines = this.rows.map(([what, ms]) => `  ${what.padEnd(58)} ${(ms / 1000).toFixed(2).padStart(8)} s`);
    // eslint-disable-next-line no-console
    console.log(`timings: ${this.tier}\n${lines.join('\n')}`);
    fs.mkdirSync(LAB_WORK, { recursive: true });
    fs.appendFileSync(
      path.join(LAB_WORK, 'timings.jsonl'),
      JSON.stringify({ at: new Date().toISOString(), tier: this.tier, rows: Object.fromEntries(this.rows) }) + '\n',
    );
  }
}

/**
 * The second run's budget (issue: "goal ≤ 1 s"): the script's own time (its last log line) within 1 s, and the
 * whole chroot invocation (unshare, mounts, qemu-user start for arm64) within 2 s even on a loaded 2-core machine.
 */
export function expectFast(stdout: string, wallMs: number): void {
  const m = / \(fast run, (\d+) ms\)$/m.exec(stdout);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBeLessThanOrEqual(1000);
  expect(wallMs).toBeLessThanOrEqual(2000);
}

/** The script the cloud-config's bootcmd writes (the heredoc body), unindented. */
export function scriptFromCloudConfig(cloudConfig: string, bootcmd: string): string {
  const m = /<<'BUILDX_NODE_BOOT_SCRIPT'\n([\s\S]*?)\nBUILDX_NODE_BOOT_SCRIPT\n/.exec(bootcmd);
  if (!m) throw new Error(`no boot script heredoc in the cloud-config bootcmd:\n${cloudConfig.slice(0, 500)}`);
  return m[1] + '\n';
}

const RENDER_FILES = `
set -euo pipefail
export BUILDX_NODE_LIBRARY_ONLY=1
# shellcheck disable=SC1090
source "$1"
out=$2
emit() { mkdir -p "$out$(dirname "$1")"; cat >"$out$1"; }
sshd_dropin | emit "$SSHD_DROPIN"
daemon_json | emit /etc/docker/daemon.json
docker_dropin | emit "$DOCKER_DROPIN"
helper_script | emit "$HELPER"
unit_ready_service | emit "$UNIT_DIR/buildx-node-ready.service"
if ((IDLE_SHUTDOWN_MINUTES > 0)); then
  unit_idle_service | emit "$UNIT_DIR/buildx-node-idle.service"
  unit_idle_timer | emit "$UNIT_DIR/buildx-node-idle.timer"
fi
`;

/**
 * The files a boot script writes, byte for byte: the script is sourced with BUILDX_NODE_LIBRARY_ONLY=1 and its
 * own content functions and paths are used. Returns absolute path → content; the files are also under `outDir`.
 */
export function renderFiles(script: string, outDir: string): Record<string, string> {
  fs.mkdirSync(outDir, { recursive: true });
  const scriptPath = path.join(outDir, '..', `${path.basename(outDir)}.script.sh`);
  fs.writeFileSync(scriptPath, script, { mode: 0o755 });
  ok('bash', ['-c', RENDER_FILES, 'render-files', scriptPath, outDir]);
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files['/' + path.relative(outDir, full)] = fs.readFileSync(full, 'utf8');
    }
  };
  walk(outDir);
  return files;
}
