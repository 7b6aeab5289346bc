/**
 * What every command gets: the one validated builder config, the environment its tools run in, where its
 * local state lives, how it reports, timing knobs, and a cleanup list that runs on exit, error and Ctrl-C.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Builder } from '../config/load';
import { CliError, GcloudTarget } from './errors';

export interface Io {
  /** Results (what a script may parse). */
  out: (line: string) => void;
  /** Progress and warnings. */
  err: (line: string) => void;
}

export interface Ctx extends Io {
  builder: Builder;
  /** Directory relative paths in the config (sshKey.publicKeyFile) are resolved against. */
  configDir: string;
  env: NodeJS.ProcessEnv;
  /** ~/.arm64-builder/<stackName>: pid file, tunnel log, what `connect` created. */
  stateDir: string;
  /** Polling interval and the first retry backoff, in ms (BUILDER_POLL_MS, BUILDER_BACKOFF_MS; tests shorten them). */
  pollMs: number;
  backoffMs: number;
  cleanup: Cleanup;
  /** Where private temp dirs go ($TMPDIR of the tools' environment). */
  tmpRoot: string;
  /** Relative paths on the command line (source dir, --out-dir) resolve against this; tools run here. */
  cwd: string;
}

export function target(b: Builder): GcloudTarget {
  return { projectId: b.projectId, zone: b.zone, instance: b.instance.name };
}

/** The flags every instance-scoped gcloud call carries: nothing depends on gcloud's active config. */
export function where(b: Builder): string[] {
  return [`--zone=${b.zone}`, `--project=${b.projectId}`];
}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`${name}=${v} is not a number of milliseconds`);
  return n;
}

export function timing(env: NodeJS.ProcessEnv): { pollMs: number; backoffMs: number } {
  return { pollMs: intEnv(env, 'BUILDER_POLL_MS', 5000), backoffMs: intEnv(env, 'BUILDER_BACKOFF_MS', 2000) };
}

export function stateDirFor(env: NodeJS.ProcessEnv, stackName: string): string {
  const root = env.BUILDER_STATE_DIR || path.join(env.HOME || os.homedir(), '.arm64-builder');
  return path.join(root, stackName);
}

/** Temporary directories (key files) and processes to undo, in reverse order, exactly once. */
export class Cleanup {
  private readonly tasks: Array<() => void> = [];

  add(task: () => void): () => void {
    this.tasks.push(task);
    return task;
  }

  /** A private 0700 directory under the system temp dir; `remove` (or `run()`) deletes it. */
  tempDir(prefix: string, root: string = os.tmpdir()): { dir: string; remove: () => void } {
    const dir = fs.mkdtempSync(path.join(root, prefix));
    const remove = this.add(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.chmodSync(dir, 0o700);
    return { dir, remove };
  }

  /** Drops a task without running it (e.g. a tunnel that must outlive this process). */
  forget(task: () => void): void {
    const i = this.tasks.indexOf(task);
    if (i >= 0) this.tasks.splice(i, 1);
  }

  /** Runs one task now (and forgets it). */
  runOne(task: () => void): void {
    this.forget(task);
    task();
  }

  run(): void {
    while (this.tasks.length) {
      const task = this.tasks.pop()!;
      try {
        task();
      } catch {
        // best effort: one failed removal must not keep the others from running
      }
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
