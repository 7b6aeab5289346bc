/**
 * keys rotate, consistent with the stack's key mode:
 * - generate: Terraform owns the pair (tls_private_key.builder_ssh_key). Rotating outside Terraform would be
 *   undone by the next deploy, so this runs `terraform -chdir=cdktf.out/stacks/STACK apply
 *   -replace=tls_private_key.builder_ssh_key`; the secret versions and instance metadata follow from it.
 * - external: you hold the pair. A new ed25519 pair is made in a private temp dir, added as new versions of both
 *   secrets, put into the instance metadata (ssh-keys = USER:PUBKEY), written to sshKey.publicKeyFile (so the
 *   next deploy agrees), and the older secret versions are disabled. The private key is never printed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CliError, classifyGcloud } from './errors';
import { Ctx, target, where } from './context';
import { requireTool, run } from './exec';
import { gcloud } from './gce';

export const TLS_KEY_ADDRESS = 'tls_private_key.builder_ssh_key';

export interface RotateOptions {
  dryRun: boolean;
  /** generate mode: pass -auto-approve to terraform. */
  yes: boolean;
  /** Where `npm run synth` writes (default cdktf.out). */
  outDir: string;
}

function versionOf(name: string): string {
  return name.trim().split('/').pop() ?? '';
}

async function addVersion(ctx: Ctx, secret: string, file: string): Promise<string> {
  const b = ctx.builder;
  const out = await gcloud(ctx, ['secrets', 'versions', 'add', secret, `--project=${b.projectId}`, `--data-file=${file}`, '--format=value(name)'], `add a version to secret ${secret}`);
  return versionOf(out);
}

async function disableOlder(ctx: Ctx, secret: string, keep: string): Promise<string[]> {
  const b = ctx.builder;
  const out = await gcloud(
    ctx,
    ['secrets', 'versions', 'list', secret, `--project=${b.projectId}`, '--filter=state=ENABLED', '--format=value(name)'],
    `list the versions of secret ${secret}`,
  );
  const disabled: string[] = [];
  for (const v of out.split('\n').map(versionOf).filter(Boolean)) {
    if (v === keep) continue;
    await gcloud(ctx, ['secrets', 'versions', 'disable', v, `--secret=${secret}`, `--project=${b.projectId}`], `disable version ${v} of secret ${secret}`);
    disabled.push(v);
  }
  return disabled;
}

async function rotateGenerate(ctx: Ctx, opts: RotateOptions): Promise<void> {
  const stackDir = path.join(opts.outDir, 'stacks', ctx.builder.stackName);
  const absStackDir = path.resolve(ctx.cwd, stackDir);
  const args = [`-chdir=${stackDir}`, 'apply', `-replace=${TLS_KEY_ADDRESS}`, ...(opts.yes ? ['-auto-approve'] : [])];
  const shown = `terraform ${args.join(' ')}`;
  if (opts.dryRun) {
    ctx.out(shown);
    return;
  }
  if (!fs.existsSync(path.join(absStackDir, 'cdk.tf.json'))) {
    throw new CliError(`${stackDir}/cdk.tf.json is missing: run the synth first (npm run synth), then keys rotate`);
  }
  requireTool('terraform', ctx.env);
  ctx.err(`sshKey.mode is 'generate': Terraform replaces the key pair; secrets and instance metadata follow\n  ${shown}`);
  const r = await run('terraform', args, { env: ctx.env, inherit: true, cwd: ctx.cwd });
  if (r.code !== 0) throw new CliError(`terraform apply failed (exit ${r.code}): read its output above, fix, and run keys rotate again`);
  ctx.out('rotated: Terraform replaced the key pair; reconnect with `disconnect` then `connect`');
}

async function rotateExternal(ctx: Ctx, opts: RotateOptions): Promise<void> {
  const b = ctx.builder;
  const pubPath = path.resolve(ctx.configDir, b.sshKey.publicKeyFile!);
  const steps = [
    `ssh-keygen -t ed25519 -N '' -C ${b.sshKey.user}@${b.instance.name} (in a private temp dir)`,
    `gcloud secrets versions add ${b.sshKey.privateKeySecretId} --data-file=<new private key>`,
    `gcloud secrets versions add ${b.sshKey.publicKeySecretId} --data-file=<new public key>`,
    `gcloud compute instances add-metadata ${b.instance.name} --metadata-from-file=ssh-keys=<${b.sshKey.user}:new public key>`,
    `write the new public key to ${pubPath}`,
    'disable the older enabled versions of both secrets',
  ];
  if (opts.dryRun) {
    steps.forEach((s, i) => ctx.out(`${i + 1}. ${s}`));
    return;
  }
  requireTool('gcloud', ctx.env);
  requireTool('ssh-keygen', ctx.env);
  const { dir } = ctx.cleanup.tempDir('arm64-builder-rotate-', ctx.tmpRoot);
  const key = path.join(dir, 'id_ed25519');
  const gen = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${b.sshKey.user}@${b.instance.name}`, '-f', key], { env: ctx.env });
  if (gen.code !== 0) throw new CliError(`ssh-keygen failed: ${gen.stderr.trim().split('\n')[0]}`);
  fs.chmodSync(key, 0o600);
  const pub = fs.readFileSync(`${key}.pub`, 'utf8').trim();

  ctx.err('adding new secret versions ...');
  const privVersion = await addVersion(ctx, b.sshKey.privateKeySecretId, key);
  const pubVersion = await addVersion(ctx, b.sshKey.publicKeySecretId, `${key}.pub`);

  ctx.err('updating the instance metadata ...');
  const sshKeys = path.join(dir, 'ssh-keys');
  fs.writeFileSync(sshKeys, `${b.sshKey.user}:${pub}\n`);
  const meta = await run(
    'gcloud',
    ['compute', 'instances', 'add-metadata', b.instance.name, ...where(b), `--metadata-from-file=ssh-keys=${sshKeys}`, '--quiet'],
    { env: ctx.env },
  );
  if (meta.code !== 0) {
    const why = classifyGcloud(meta.stderr, target(b), 'update the instance metadata').message;
    throw new CliError(`${why} (the new key is in the secrets but not on the VM: fix this and run keys rotate again)`);
  }
  fs.writeFileSync(pubPath, `${pub}\n`);

  ctx.err('disabling older secret versions ...');
  const oldPriv = await disableOlder(ctx, b.sshKey.privateKeySecretId, privVersion);
  const oldPub = await disableOlder(ctx, b.sshKey.publicKeySecretId, pubVersion);
  ctx.out(
    `rotated: ${b.sshKey.privateKeySecretId} v${privVersion}, ${b.sshKey.publicKeySecretId} v${pubVersion}; disabled ${
      oldPriv.length + oldPub.length
    } older version(s); ${path.relative(ctx.cwd, pubPath) || pubPath} updated (commit it; the next deploy agrees)`,
  );
  ctx.out('open tunnels keep working; new connections use the new key (disconnect, then connect)');
}

export async function rotate(ctx: Ctx, opts: RotateOptions): Promise<void> {
  if (ctx.builder.sshKey.mode === 'generate') await rotateGenerate(ctx, opts);
  else await rotateExternal(ctx, opts);
}
