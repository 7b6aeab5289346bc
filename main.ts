/**
 * Synthesizes one Terraform stack per configured builder into cdktf.out (`npm run synth`, or `cdktf synth`,
 * which runs this file through cdktf.json).
 *
 * Config: built-in defaults ← JSON file (`--config FILE` or $BUILDER_CONFIG) ← environment overrides.
 * Bad config: one line per problem on stderr, exit 2, nothing written; an existing cdktf.out stays as it was.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdktf';
import { Builder, loadConfig } from './config/load';
import { ConfigError } from './config/errors';
import { BuilderStack } from './constructs/builder-stack';

/** Builds the app: one stack per builder. Also used by tests, with an outdir of their own. */
export function buildApp(builders: Builder[], outdir: string): { app: App; stacks: BuilderStack[] } {
  const app = new App({ outdir, skipValidation: false });
  const stacks = builders.map((b) => new BuilderStack(app, b));
  return { app, stacks };
}

function parseArgs(argv: string[]): { file?: string } {
  const i = argv.indexOf('--config');
  if (i >= 0) {
    if (!argv[i + 1]) throw new ConfigError('command line', [{ field: '--config', value: '(missing)', allowed: 'a path to a JSON config file' }]);
    return { file: argv[i + 1] };
  }
  const unknown = argv.find((a) => a.startsWith('-'));
  if (unknown) throw new ConfigError('command line', [{ field: 'argument', value: unknown, allowed: '--config FILE' }]);
  return {};
}

/**
 * Validates everything first, synthesizes into a sibling temp directory, and only then swaps it into place,
 * so a failure at any point leaves the previous output untouched.
 */
export function synthesize(argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  let builders: Builder[];
  try {
    builders = loadConfig({ file: parseArgs(argv).file, env });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const outdir = path.resolve(env.CDKTF_OUTDIR ?? 'cdktf.out');
  const staging = `${outdir}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    const { app } = buildApp(builders, staging);
    app.synth();
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    process.stderr.write(`synth failed, ${path.basename(outdir)} left as it was: ${(e as Error).message}\n`);
    return 1;
  }
  const previous = `${outdir}.previous-${process.pid}`;
  if (fs.existsSync(outdir)) fs.renameSync(outdir, previous);
  fs.renameSync(staging, outdir);
  fs.rmSync(previous, { recursive: true, force: true });
  for (const b of builders) process.stdout.write(`synthesized stack ${b.stackName} → ${path.relative(process.cwd(), outdir)}/stacks/${b.stackName}\n`);
  return 0;
}

/** Entry point for scripts/bundled.js (`npm run synth`, `cdktf synth`). */
export function main(argv: string[]): number {
  return synthesize(argv);
}
