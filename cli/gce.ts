/**
 * The builder VM through gcloud: describe, start, stop, readiness (the guest attribute the boot script
 * publishes once Docker answers). Every call names project and zone explicitly.
 */
import { renderBoot } from '../templates/boot';
import { CliError, classifyGcloud, EXIT } from './errors';
import { Ctx, sleep, target, where } from './context';
import { run } from './exec';

export const READY_KEY = 'builder/ready';

export async function gcloud(ctx: Ctx, args: string[], what: string): Promise<string> {
  const r = await run('gcloud', [...args, '--quiet'], { env: ctx.env });
  if (r.code !== 0) throw classifyGcloud(r.stderr, target(ctx.builder), what);
  return r.stdout;
}

export interface InstanceInfo {
  status: string;
  machineType: string;
  spot: boolean;
}

export async function describe(ctx: Ctx): Promise<InstanceInfo> {
  const b = ctx.builder;
  const text = await gcloud(ctx, ['compute', 'instances', 'describe', b.instance.name, ...where(b), '--format=json'], `look up instance ${b.instance.name}`);
  let doc: { status?: string; machineType?: string; scheduling?: { provisioningModel?: string; preemptible?: boolean } };
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CliError(`gcloud returned something that is not JSON for instance ${b.instance.name}: update the Google Cloud CLI`);
  }
  return {
    status: doc.status ?? 'UNKNOWN',
    machineType: (doc.machineType ?? '').split('/').pop() || 'unknown',
    spot: doc.scheduling?.provisioningModel === 'SPOT' || doc.scheduling?.preemptible === true,
  };
}

/** The value the boot script published, or '' while there is none yet. */
export async function readiness(ctx: Ctx): Promise<string> {
  const b = ctx.builder;
  const r = await run(
    'gcloud',
    ['compute', 'instances', 'get-guest-attributes', b.instance.name, ...where(b), `--query-path=${READY_KEY}`, '--format=value(value)', '--quiet'],
    { env: ctx.env },
  );
  if (r.code === 0) return r.stdout.trim();
  // Until the boot script publishes it, the attribute does not exist: that is "not ready", not an error.
  if (/guestAttributes|guest attribute/i.test(r.stderr) && /not found|404/i.test(r.stderr)) return '';
  throw classifyGcloud(r.stderr, target(b), 'read the readiness guest attribute');
}

/** The boot config hash the VM publishes when it runs this config. */
export function expectedHash(ctx: Ctx): string {
  try {
    return renderBoot(ctx.builder).configHash;
  } catch (e) {
    throw new CliError(`could not render the boot config to learn its hash (${(e as Error).message.split('\n')[0]}): pass --any-config to accept any ready builder`);
  }
}

export interface StartOptions {
  timeoutSec: number;
  /** Accept any published config hash (the VM may run an older deploy). */
  anyConfig: boolean;
}

function elapsed(since: number): string {
  return `${Math.round((Date.now() - since) / 1000)}s`;
}

export async function startAndWait(ctx: Ctx, opts: StartOptions): Promise<void> {
  const b = ctx.builder;
  const name = b.instance.name;
  const expected = opts.anyConfig ? undefined : expectedHash(ctx);
  const t0 = Date.now();
  const deadline = t0 + opts.timeoutSec * 1000;

  let info = await describe(ctx);
  if (info.status === 'RUNNING') {
    ctx.err(`${name} is already RUNNING`);
  } else {
    while (info.status === 'STOPPING' || info.status === 'SUSPENDING') {
      if (Date.now() > deadline) break;
      ctx.err(`${name} is ${info.status}; waiting for it to finish before starting`);
      await sleep(ctx.pollMs);
      info = await describe(ctx);
    }
    const verb = info.status === 'SUSPENDED' ? 'resume' : 'start';
    ctx.err(`${verb === 'start' ? 'starting' : 'resuming'} ${name} (${b.projectId}, ${b.zone}) ...`);
    await gcloud(ctx, ['compute', 'instances', verb, name, ...where(b), '--async'], `${verb} instance ${name}`);
  }

  let last = '';
  let status = info.status;
  let value = '';
  const say = (msg: string) => {
    if (msg !== last) ctx.err(`  ${msg} (${elapsed(t0)})`);
    last = msg;
  };
  for (;;) {
    status = (await describe(ctx)).status;
    if (status === 'RUNNING') {
      value = await readiness(ctx);
      if (value && (!expected || value === expected)) {
        ctx.err(`${name} is ready: Docker answers (boot config ${value}) after ${elapsed(t0)}`);
        return;
      }
      say(value ? `RUNNING; builder reports boot config ${value}, waiting for ${expected}` : 'RUNNING; waiting for Docker (boot script)');
    } else {
      say(`state ${status}`);
    }
    if (Date.now() + ctx.pollMs > deadline) break;
    await sleep(ctx.pollMs);
  }

  const waited = `timed out after ${opts.timeoutSec}s waiting for ${name}`;
  if (status !== 'RUNNING') {
    throw new CliError(`${waited}: it is still ${status}; check zone capacity/quota (spot VMs may be unavailable), then run start again`, EXIT.TIMEOUT);
  }
  if (value && expected && value !== expected) {
    throw new CliError(
      `${waited}: the VM runs boot config ${value} but this config renders ${expected}; deploy the stack, or pass --any-config`,
      EXIT.TIMEOUT,
    );
  }
  throw new CliError(
    `${waited}: Docker did not report ready; read the boot log with \`gcloud compute instances get-serial-port-output ${name} --zone=${b.zone} --project=${b.projectId}\` or raise --timeout`,
    EXIT.TIMEOUT,
  );
}

export async function stop(ctx: Ctx, wait: boolean): Promise<void> {
  const b = ctx.builder;
  ctx.err(`stopping ${b.instance.name} ...`);
  await gcloud(ctx, ['compute', 'instances', 'stop', b.instance.name, ...where(b), ...(wait ? [] : ['--async'])], `stop instance ${b.instance.name}`);
  ctx.err(wait ? `${b.instance.name} is stopped` : `stop requested for ${b.instance.name}`);
}
