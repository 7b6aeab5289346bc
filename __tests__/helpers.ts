import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
import { builderSchema, BuilderInput } from '../config/schema';
import type { Builder } from '../config/load';
import { BuilderStack } from '../constructs/builder-stack';
import { synthesize } from '../main';

export const TEST_PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm8p7nG1c3aQmR2Q0M7kqXb2sI0pJj0bQ3zq8v1eF1x ops@example';

/** A validated builder from a partial config, as loadConfig would return it. */
export function builder(input: BuilderInput = {}, publicKey?: string): Builder {
  const cfg = builderSchema.parse(input);
  return { ...cfg, stackName: cfg.stackName ?? cfg.instance.name, publicKey };
}

export interface Synthesized {
  json: string;
  tf: {
    resource: Record<string, Record<string, Record<string, unknown>>>;
    data?: Record<string, Record<string, Record<string, unknown>>>;
    output: Record<string, { value: string; description?: string }>;
  };
  stack: BuilderStack;
}

/** Synthesizes one builder stack in memory (no backend block; see synth.test.ts for the full output). */
export function synth(input: BuilderInput = {}, publicKey?: string): Synthesized {
  const stack = new BuilderStack(Testing.app(), builder(input, publicKey));
  const json = Testing.synth(stack);
  return { json, tf: JSON.parse(json), stack };
}

/** All resources of one type, by logical id. */
export function resources(s: Synthesized, type: string): Record<string, Record<string, unknown>> {
  return s.tf.resource[type] ?? {};
}

/** The only resource of a type whose properties match `where` (fails the test when not exactly one). */
export function only(s: Synthesized, type: string, where: Record<string, unknown> = {}): Record<string, unknown> {
  const found = Object.values(resources(s, type)).filter((r) =>
    Object.entries(where).every(([k, v]) => JSON.stringify(r[k]) === JSON.stringify(v)),
  );
  if (found.length !== 1) throw new Error(`expected one ${type} matching ${JSON.stringify(where)}, found ${found.length}`);
  return found[0];
}

export function tempDir(prefix = 'builder-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Runs synth as `npm run synth` would (config file, policy, audit, atomic write) into a fresh directory and
 * returns the out dir. `extend` adds resources to the built stacks before the policy check.
 */
export function synthTo(config?: object, env: Record<string, string> = {}, extend?: (stacks: BuilderStack[]) => void): string {
  const dir = tempDir('builder-synth-');
  const outdir = path.join(dir, 'cdktf.out');
  const args: string[] = [];
  if (config) {
    fs.writeFileSync(path.join(dir, 'builder.json'), JSON.stringify(config));
    args.push('--config', path.join(dir, 'builder.json'));
  }
  const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    expect(synthesize(args, { ...env, CDKTF_OUTDIR: outdir }, extend)).toBe(0);
  } finally {
    write.mockRestore();
  }
  return outdir;
}
