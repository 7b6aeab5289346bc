/**
 * cloud-build: renders the same cloudbuild.yaml the synth writes (templates/cloudbuild.ts) and submits it with
 * the substitutions from the options. The build's own log streams to the terminal.
 */
import * as fs from 'fs';
import * as path from 'path';
import { defaultSubstitutions, renderCloudBuild, Substitution } from '../templates/cloudbuild';
import { CliError } from './errors';
import { Ctx } from './context';
import { requireTool, run } from './exec';
import { expectedHash } from './gce';

export interface SubmitOptions {
  source: string;
  image?: string;
  tag?: string;
  dockerfile?: string;
  context?: string;
  startStop: boolean;
  readyTimeout?: number;
  anyConfig: boolean;
  async: boolean;
  dryRun: boolean;
}

export async function submit(ctx: Ctx, opts: SubmitOptions): Promise<void> {
  const b = ctx.builder;
  const subs: Record<Substitution, string> = {
    ...defaultSubstitutions(b),
    ...(opts.image ? { _IMAGE: opts.image } : {}),
    ...(opts.tag ? { _TAG: opts.tag } : {}),
    ...(opts.dockerfile ? { _DOCKERFILE: opts.dockerfile } : {}),
    ...(opts.context ? { _CONTEXT: opts.context } : {}),
    _AUTO_START_STOP: opts.startStop ? 'true' : 'false',
    ...(opts.readyTimeout ? { _READY_TIMEOUT: String(opts.readyTimeout) } : {}),
  };
  for (const [k, v] of Object.entries(subs)) {
    if (/[,\n$]/.test(v)) throw new CliError(`${k}=${v}: substitution values may not contain ',', '$' or newlines; choose another value`);
  }
  if (!/^[a-z0-9.-]+(:[0-9]+)?\/[a-z0-9._/-]+$/.test(subs._IMAGE)) {
    throw new CliError(`--image ${subs._IMAGE} is not an image name without tag, e.g. us-docker.pkg.dev/PROJECT/REPOSITORY/NAME`);
  }
  const source = path.resolve(ctx.cwd, opts.source);
  if (!fs.existsSync(source)) throw new CliError(`source directory ${opts.source} does not exist: pass the directory to upload`);
  if (!fs.existsSync(path.join(source, subs._DOCKERFILE))) {
    throw new CliError(`${subs._DOCKERFILE} not found in ${opts.source}: pass --dockerfile (relative to the source directory)`);
  }

  const yaml = renderCloudBuild(b, { configHash: opts.anyConfig ? '' : expectedHash(ctx) });
  const { dir } = ctx.cleanup.tempDir('arm64-builder-cb-', ctx.tmpRoot);
  const file = path.join(dir, `cloudbuild.${b.stackName}.yaml`);
  fs.writeFileSync(file, yaml);
  const args = [
    'builds',
    'submit',
    opts.source,
    `--config=${file}`,
    `--project=${b.projectId}`,
    `--substitutions=${Object.entries(subs).map(([k, v]) => `${k}=${v}`).join(',')}`,
    ...(opts.async ? ['--async'] : []),
  ];
  if (opts.dryRun) {
    ctx.out(`gcloud ${args.map((a) => (a === `--config=${file}` ? `--config=cdktf.out/cloudbuild.${b.stackName}.yaml` : a)).join(' ')}`);
    return;
  }
  requireTool('gcloud', ctx.env);
  ctx.err(`submitting ${subs._IMAGE}:${subs._TAG} (linux/amd64 + linux/arm64 on ${b.instance.name}) to Cloud Build in ${b.projectId} ...`);
  const r = await run('gcloud', args, { env: ctx.env, inherit: true, cwd: ctx.cwd });
  if (r.code !== 0) {
    throw new CliError(`the Cloud Build submission failed (gcloud exit ${r.code}): read the build log above (or in the console), fix, and submit again`);
  }
  ctx.out(opts.async ? 'submitted (running asynchronously)' : `pushed ${subs._IMAGE}:${subs._TAG} (linux/amd64, linux/arm64)`);
}
