/**
 * `npm run bench`: times the main job against a bare `node -e 0` on the same machine, in one run, and prints
 * ratios (absolute times vary with the machine; ratios are what the targets are set in).
 *   synth (npm run synth)  ≤ 10× node    app alone (bundled synth, no npm)  ≤ 5× node    unit suite ≤ 5 s
 */
import { spawnSync } from 'child_process';

// npm runs scripts from the package root.
const ROOT = process.cwd();
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const env = { ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1' };

function timeOnce(cmd: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

function median(cmd: string, args: string[], runs = RUNS): number {
  timeOnce(cmd, args); // warm the file cache (and the bundle) once
  const times = Array.from({ length: runs }, () => timeOnce(cmd, args)).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export function main(): number {
  try {
    return bench();
  } catch (e) {
    console.error(`bench: ${(e as Error).message.split('\n')[0]}`);
    return 1;
  }
}

function bench(): number {
  const node = median('node', ['-e', '0']);
  const synth = median('npm', ['run', 'synth', '--silent']);
  const app = median('node', ['scripts/bundled.js', 'main.ts']);
  const unit = timeOnce('npx', ['--no-install', 'jest', '--silent']);
  const rows: [string, number, string][] = [
    ['node -e 0', node, ''],
    ['npm run synth (main job)', synth, `${(synth / node).toFixed(1)}× node (target ≤ 10×)`],
    ['app alone (bundled synth)', app, `${(app / node).toFixed(1)}× node (target ≤ 5×)`],
    ['unit suite (jest, wall)', unit, `target ≤ 5000 ms`],
  ];
  for (const [what, ms, note] of rows) console.log(`${what.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms  ${note}`);
  const ok = synth / node <= 10 && app / node <= 5 && unit <= 5000;
  console.log(ok ? 'all targets met' : 'a target was missed');
  return ok ? 0 : 1;
}
