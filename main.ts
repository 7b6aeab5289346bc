/**
 * Synthesizes one Terraform stack per configured builder into cdktf.out (`npm run synth`, or `cdktf synth`,
 * which runs this file through cdktf.json).
 *
 * Config: built-in defaults ← JSON file (`--config FILE` or $BUILDER_CONFIG) ← environment overrides.
 * Bad config: one line per problem on stderr, exit 2, nothing written; an existing cdktf.out stays as it was.
 * Policy: every stack is checked against config/policy-rules.ts before anything is written; a failing rule without
 * a waiver (policy.waivers) prints rule, resource and fix, exits 3 and leaves cdktf.out as it was. Synth also writes
 * the audit report (cdktf.out/audit/: <stack>.md, <stack>.json, README.md) and cdktf.out/cloudbuild.<stack>.yaml.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdktf';
import { Builder, loadConfig } from './config/load';
import { ConfigError } from './config/errors';
import { BuilderStack } from './constructs/builder-stack';
import { checkPolicy, failures, formatFailures, POLICY_EXIT_CODE, PolicyReport } from './policy/check';
import { resolvedStack, TfJson } from './policy/terraform';
import { writeAudit } from './audit/report';
import { renderCloudBuild } from './templates/cloudbuild';

/** Builds the app: one stack per builder. Also used by tests, with an outdir of their own. */
export function buildApp(builders: Builder[], outdir: string): { app: App; stacks: BuilderStack[] } {
  const app = new App({ outdir, skipValidation: false });
  const stacks = builders.map((b) => new BuilderStack(app, b));
  return { app, stacks };
}

/** The Terraform JSON synth wrote for a stack; with `--hcl` (cdk.tf, not JSON) the same, resolved in memory. */
function writtenTerraform(outdir: string, stack: BuilderStack): TfJson {
  const file = path.join(outdir, 'stacks', stack.config.stackName, 'cdk.tf.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as TfJson) : resolvedStack(stack);
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
 *
 * `extend` runs on the built stacks before the policy check: for tests (and projects adding their own resources
 * to the stacks), whose additions are checked like everything else.
 */
export function synthesize(argv: string[], env: NodeJS.ProcessEnv = process.env, extend?: (stacks: BuilderStack[]) => void): number {
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
    const { app, stacks } = buildApp(builders, staging);
    extend?.(stacks);
    app.synth();
    // The rules read what was written (the bytes Terraform will get), while it is still only in staging.
    const reports: PolicyReport[] = stacks.map((s) => checkPolicy(s, writtenTerraform(staging, s)));
    if (reports.some((r) => failures(r).length > 0)) {
      fs.rmSync(staging, { recursive: true, force: true });
      const field = builders.length > 1 ? 'policy.waivers of that builder' : 'policy.waivers';
      process.stderr.write(`${formatFailures(reports, field)}\n${path.basename(outdir)} left as it was.\n`);
      return POLICY_EXIT_CODE;
    }
    writeAudit(staging, stacks, reports);
    for (const b of builders) fs.writeFileSync(path.join(staging, `cloudbuild.${b.stackName}.yaml`), renderCloudBuild(b));
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    process.stderr.write(`synth failed, ${path.basename(outdir)} left as it was: ${(e as Error).message}\n`);
    return 1;
  }
  const previous = `${outdir}.previous-${process.pid}`;
  if (fs.existsSync(outdir)) fs.renameSync(outdir, previous);
  fs.renameSync(staging, outdir);
  fs.rmSync(previous, { recursive: true, force: true });
  const rel = path.relative(process.cwd(), outdir);
  for (const b of builders) process.stdout.write(`synthesized stack ${b.stackName} → ${rel}/stacks/${b.stackName}\n`);
  process.stdout.write(`audit report → ${rel}/audit/README.md; Cloud Build config → ${rel}/cloudbuild.<stack>.yaml\n`);
  return 0;
}

/** Entry point for scripts/bundled.js (`npm run synth`, `cdktf synth`). */
export function main(argv: string[]): number {
  return synthesize(argv);
}
