/**
 * connect / disconnect: the laptop side of the runbook's hand-typed steps.
 *
 * Tunnel mode (default): the private key goes from Secret Manager into a 0600 file in a private temp dir,
 * `gcloud compute ssh … --tunnel-through-iap -- -L 127.0.0.1:PORT:127.0.0.1:DOCKER_PORT -N` runs in the
 * background (its own process group, pid file), the key file is removed as soon as the forward answers (ssh has
 * authenticated by then), and a docker context plus a two-node buildx builder (local amd64 + remote arm64) are
 * created. SSH mode (`--ssh`, tunnel-free): the key goes into ssh-agent (never onto disk for longer than the
 * `ssh-add`), an ssh config whose ProxyCommand is `gcloud compute start-iap-tunnel %h 22 --listen-on-stdin` is
 * included from ~/.ssh/config, and the docker context is ssh://USER@INSTANCE.
 * `disconnect` undoes exactly what connection.json records.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { CliError, classifyGcloud, EXIT, firstErrorLine, isTransientIap } from './errors';
import { buildkitdConfig, localNames } from '../config/commands';
import { Ctx, sleep, target, where } from './context';
import { requireTool, run } from './exec';
import { describe, startAndWait } from './gce';

export interface Connection {
  mode: 'tunnel' | 'ssh';
  stackName: string;
  instance: string;
  context: string;
  builder: string;
  port?: number;
  pid?: number;
  sshConfig?: string;
  publicKeyFile?: string;
  createdAt: string;
}

export interface ConnectOptions {
  port: number;
  ssh: boolean;
  start: boolean;
  timeoutSec: number;
  anyConfig: boolean;
  keyLifetime: string;
}

export const names = localNames;

const connectionFile = (ctx: Ctx) => path.join(ctx.stateDir, 'connection.json');
const pidFile = (ctx: Ctx) => path.join(ctx.stateDir, 'tunnel.pid');
const logFile = (ctx: Ctx) => path.join(ctx.stateDir, 'tunnel.log');
const gcConfigFile = (ctx: Ctx) => path.join(ctx.stateDir, 'buildkitd.toml');

export function readConnection(ctx: Ctx): Connection | undefined {
  try {
    return JSON.parse(fs.readFileSync(connectionFile(ctx), 'utf8')) as Connection;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Ends the tunnel: its whole process group (gcloud, ssh and the IAP helper), by pid. */
function killTunnel(pid: number): void {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function docker(ctx: Ctx, args: string[], what: string): Promise<string> {
  const r = await run('docker', args, { env: ctx.env });
  if (r.code !== 0) throw new CliError(`could not ${what}: ${firstErrorLine(r.stderr)}`);
  return r.stdout;
}

/** Reads the private key through a pipe into a 0600 file in a private temp dir (removed by the cleanup list). */
async function fetchKey(ctx: Ctx): Promise<{ dir: string; keyFile: string; remove: () => void }> {
  const b = ctx.builder;
  const r = await run('gcloud', ['secrets', 'versions', 'access', 'latest', `--secret=${b.sshKey.privateKeySecretId}`, `--project=${b.projectId}`, '--quiet'], {
    env: ctx.env,
  });
  if (r.code !== 0) throw classifyGcloud(r.stderr, target(b), `read secret ${b.sshKey.privateKeySecretId}`);
  const { dir, remove } = ctx.cleanup.tempDir('arm64-builder-key-', ctx.tmpRoot);
  const keyFile = path.join(dir, 'id_ed25519');
  fs.writeFileSync(keyFile, r.stdout.endsWith('\n') ? r.stdout : `${r.stdout}\n`, { mode: 0o600, flag: 'wx' });
  const pub = await run('ssh-keygen', ['-y', '-f', keyFile], { env: ctx.env });
  if (pub.code !== 0) {
    throw new CliError(`the secret ${b.sshKey.privateKeySecretId} does not hold a usable OpenSSH private key: deploy the stack or run \`keys rotate\``);
  }
  fs.writeFileSync(`${keyFile}.pub`, pub.stdout, { mode: 0o600 });
  return { dir, keyFile, remove };
}

async function ensureRunning(ctx: Ctx, opts: ConnectOptions): Promise<void> {
  const info = await describe(ctx);
  if (info.status === 'RUNNING') return;
  if (!opts.start) {
    throw new CliError(`${ctx.builder.instance.name} is ${info.status}: run \`start\` first (or \`connect --start\`)`);
  }
  await startAndWait(ctx, { timeoutSec: opts.timeoutSec, anyConfig: opts.anyConfig });
}

/** Opens the background tunnel, retrying IAP's "not yet" answers (4047 right after a start) with backoff. */
async function openTunnel(ctx: Ctx, keyFile: string, port: number, deadline: number): Promise<number> {
  const b = ctx.builder;
  const dockerPort = b.docker.port;
  const args = [
    'compute',
    'ssh',
    `${b.sshKey.user}@${b.instance.name}`,
    ...where(b),
    '--tunnel-through-iap',
    `--ssh-key-file=${keyFile}`,
    '--quiet',
    '--',
    '-L',
    `127.0.0.1:${port}:127.0.0.1:${dockerPort}`,
    '-N',
    '-o',
    'ExitOnForwardFailure=yes',
    '-o',
    'ServerAliveInterval=30',
  ];
  let backoff = ctx.backoffMs;
  for (let attempt = 1; ; attempt++) {
    const log = fs.openSync(logFile(ctx), 'w');
    const child = spawn('gcloud', args, { env: ctx.env, detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    let exited = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('exit', () => (exited = true));
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
      exited = true;
    });
    const pid = child.pid;
    const kill = ctx.cleanup.add(() => pid && killTunnel(pid));
    if (pid) fs.writeFileSync(pidFile(ctx), `${pid}\n`);
    child.unref();

    for (;;) {
      if (spawnError) throw spawnError.code === 'ENOENT' ? new CliError('gcloud not found on PATH: install the Google Cloud CLI') : spawnError;
      if (!exited && (await portOpen(port))) {
        ctx.cleanup.forget(kill); // the tunnel must outlive this process
        return pid!;
      }
      if (exited) break;
      if (Date.now() > deadline) {
        ctx.cleanup.runOne(kill);
        throw new CliError(
          `timed out opening the IAP tunnel to ${b.instance.name} (see ${logFile(ctx)}): check that the VM is ready (\`status\`) and retry`,
          EXIT.TIMEOUT,
        );
      }
      await sleep(Math.min(ctx.pollMs, 200));
    }
    ctx.cleanup.runOne(kill);
    const output = fs.readFileSync(logFile(ctx), 'utf8');
    if (isTransientIap(output) && Date.now() + backoff < deadline) {
      ctx.err(`  IAP cannot reach ${b.instance.name} yet (${firstErrorLine(output)}); retry ${attempt + 1} in ${Math.round(backoff / 100) / 10}s`);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, ctx.backoffMs * 16);
      continue;
    }
    if (isTransientIap(output)) {
      throw new CliError(`timed out: IAP still cannot reach ${b.instance.name} (${firstErrorLine(output)}); check \`status\` and retry`, EXIT.TIMEOUT);
    }
    fs.rmSync(pidFile(ctx), { force: true });
    throw classifyGcloud(output, target(b), 'open the IAP tunnel');
  }
}

async function createContext(ctx: Ctx, name: string, host: string): Promise<void> {
  const exists = (await run('docker', ['context', 'inspect', name], { env: ctx.env })).code === 0;
  const description = `arm64 builder ${ctx.builder.instance.name} (arm64-builder connect)`;
  if (exists) await docker(ctx, ['context', 'update', name, '--description', description, '--docker', `host=${host}`], `update docker context ${name}`);
  else await docker(ctx, ['context', 'create', name, '--description', description, '--docker', `host=${host}`], `create docker context ${name}`);
}

async function waitForDocker(ctx: Ctx, contextName: string, deadline: number): Promise<string> {
  let backoff = ctx.backoffMs;
  for (;;) {
    const r = await run('docker', ['--context', contextName, 'version', '--format', '{{.Server.Arch}}'], { env: ctx.env });
    if (r.code === 0) return r.stdout.trim();
    if (Date.now() + backoff > deadline) {
      throw new CliError(
        `the builder's Docker does not answer through ${contextName} (${firstErrorLine(r.stderr)}): check \`status\` (is it ready?) and retry`,
        EXIT.TIMEOUT,
      );
    }
    await sleep(backoff);
    backoff = Math.min(backoff * 2, ctx.backoffMs * 16);
  }
}

/** A buildx builder with the local node for linux/amd64 and the builder VM appended for linux/arm64. */
async function createBuildx(ctx: Ctx, builder: string, remoteContext: string): Promise<void> {
  if ((await run('docker', ['buildx', 'inspect', builder], { env: ctx.env })).code === 0) {
    await docker(ctx, ['buildx', 'rm', '--keep-state', builder], `remove the old buildx builder ${builder}`);
  }
  let local = (await run('docker', ['context', 'show'], { env: ctx.env })).stdout.trim() || 'default';
  if (local === remoteContext) local = 'default';
  const gcConfig = gcConfigFile(ctx);
  fs.writeFileSync(gcConfig, buildkitdConfig(ctx.builder));
  const config = ['--buildkitd-config', gcConfig];
  await docker(
    ctx,
    ['buildx', 'create', '--name', builder, '--driver', 'docker-container', ...config, '--platform', 'linux/amd64', '--node', `${builder}-amd64`, local],
    `create buildx builder ${builder}`,
  );
  await docker(
    ctx,
    ['buildx', 'create', '--name', builder, '--append', ...config, '--node', `${builder}-arm64`, '--platform', 'linux/arm64', remoteContext],
    `append the arm64 node to buildx builder ${builder}`,
  );
}

function writeConnection(ctx: Ctx, c: Connection): void {
  fs.writeFileSync(connectionFile(ctx), `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
}

function nextSteps(ctx: Ctx, c: Connection): void {
  ctx.out(`connected: docker context ${c.context}, buildx builder ${c.builder} (amd64 local + arm64 on ${c.instance})`);
  ctx.out('next:');
  ctx.out(`  docker buildx build --builder ${c.builder} --platform linux/amd64,linux/arm64 -t IMAGE:TAG --push .`);
  ctx.out(`  docker --context ${c.context} ps          # the builder's Docker`);
  ctx.out(`  docker buildx use ${c.builder}            # make it your default builder (optional)`);
  ctx.out('  arm64-builder disconnect                  # when done (removes the tunnel, context and builder)');
}

function sshConfigText(ctx: Ctx, pubFile: string): string {
  const b = ctx.builder;
  const q = (p: string) => `"${p}"`;
  return [
    `# Written by arm64-builder connect --ssh for stack ${b.stackName}; disconnect removes it.`,
    `Host ${b.instance.name}`,
    `  User ${b.sshKey.user}`,
    `  IdentityFile ${q(pubFile)}`,
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking accept-new',
    `  UserKnownHostsFile ${q(path.join(ctx.stateDir, 'known_hosts'))}`,
    `  ProxyCommand gcloud compute start-iap-tunnel %h 22 --listen-on-stdin --zone=${b.zone} --project=${b.projectId} --verbosity=warning`,
    '',
  ].join('\n');
}

const includeMarker = (stack: string) => [`# BEGIN arm64-builder ${stack}`, `# END arm64-builder ${stack}`];

function userSshConfig(ctx: Ctx): string {
  return path.join(ctx.env.HOME || os.homedir(), '.ssh', 'config');
}

function addInclude(ctx: Ctx, file: string): void {
  const cfg = userSshConfig(ctx);
  fs.mkdirSync(path.dirname(cfg), { recursive: true, mode: 0o700 });
  const current = fs.existsSync(cfg) ? fs.readFileSync(cfg, 'utf8') : '';
  const [begin, end] = includeMarker(ctx.builder.stackName);
  if (current.includes(begin)) return;
  // Include must come before any Host block to apply everywhere; it only adds a Host block for the VM.
  fs.writeFileSync(cfg, `${begin}\nInclude "${file}"\n${end}\n${current}`, { mode: 0o600 });
}

function removeInclude(ctx: Ctx): void {
  const cfg = userSshConfig(ctx);
  if (!fs.existsSync(cfg)) return;
  const [begin, end] = includeMarker(ctx.builder.stackName);
  const text = fs.readFileSync(cfg, 'utf8');
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) return;
  fs.writeFileSync(cfg, text.slice(0, i) + text.slice(j + end.length).replace(/^\n/, ''));
}

/** Once something is recorded in connection.json, a failure also says how to undo it. */
async function undoHint(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (e instanceof CliError) throw new CliError(`${e.message}; run \`disconnect\` before retrying`, e.exitCode);
    throw e;
  }
}

export async function connect(ctx: Ctx, opts: ConnectOptions): Promise<void> {
  const b = ctx.builder;
  requireTool('gcloud', ctx.env);
  requireTool('docker', ctx.env);
  requireTool('ssh-keygen', ctx.env);
  if (opts.ssh) requireTool('ssh-add', ctx.env);
  fs.mkdirSync(ctx.stateDir, { recursive: true, mode: 0o700 });

  const existing = readConnection(ctx);
  if (existing) {
    if (existing.mode === 'ssh' || isAlive(existing.pid)) {
      ctx.err(`already connected (${existing.mode}); run \`disconnect\` first to change it`);
      nextSteps(ctx, existing);
      return;
    }
    ctx.err(`the previous tunnel (pid ${existing.pid}) is gone; reconnecting`);
  }

  const deadline = Date.now() + opts.timeoutSec * 1000;
  const n = names(b.stackName);

  if (opts.ssh) {
    if (!ctx.env.SSH_AUTH_SOCK) {
      throw new CliError('connect --ssh keeps the key in ssh-agent, and none is running: run `eval "$(ssh-agent)"` and retry');
    }
    await ensureRunning(ctx, opts);
    const key = await fetchKey(ctx);
    const pubFile = path.join(ctx.stateDir, 'id_ed25519.pub');
    fs.copyFileSync(`${key.keyFile}.pub`, pubFile);
    const added = await run('ssh-add', ['-q', '-t', opts.keyLifetime, key.keyFile], { env: ctx.env });
    ctx.cleanup.runOne(key.remove);
    if (added.code !== 0) throw new CliError(`ssh-add could not load the key: ${firstErrorLine(added.stderr)}; check that ssh-agent runs`);
    const sshConfig = path.join(ctx.stateDir, 'ssh_config');
    fs.writeFileSync(sshConfig, sshConfigText(ctx, pubFile), { mode: 0o600 });
    addInclude(ctx, sshConfig);
    const c: Connection = {
      mode: 'ssh',
      stackName: b.stackName,
      instance: b.instance.name,
      context: n.sshContext,
      builder: n.builder,
      sshConfig,
      publicKeyFile: pubFile,
      createdAt: new Date().toISOString(),
    };
    writeConnection(ctx, c);
    await undoHint(async () => {
      await createContext(ctx, n.sshContext, `ssh://${b.sshKey.user}@${b.instance.name}`);
      const arch = await waitForDocker(ctx, n.sshContext, deadline);
      ctx.err(`the builder's Docker answers over ssh (${arch})`);
      await createBuildx(ctx, n.builder, n.sshContext);
    });
    nextSteps(ctx, c);
    return;
  }

  if (b.docker.tcpListener !== 'loopback') {
    throw new CliError(
      `docker.tcpListener is '${b.docker.tcpListener}', so there is no loopback port to forward: use \`connect --ssh\` (the tunnel-free variant)`,
    );
  }
  if (!(await portFree(opts.port))) {
    throw new CliError(`port ${opts.port} on 127.0.0.1 is in use (another tunnel or a local Docker?): run \`disconnect\`, or pass --port with a free port`);
  }
  await ensureRunning(ctx, opts);
  const key = await fetchKey(ctx);
  ctx.err(`opening the IAP tunnel to ${b.instance.name}: 127.0.0.1:${opts.port} -> ${b.docker.port} ...`);
  const pid = await openTunnel(ctx, key.keyFile, opts.port, deadline);
  ctx.cleanup.runOne(key.remove); // ssh has authenticated once the forward answers; the key file goes now
  const c: Connection = {
    mode: 'tunnel',
    stackName: b.stackName,
    instance: b.instance.name,
    context: n.tunnelContext,
    builder: n.builder,
    port: opts.port,
    pid,
    createdAt: new Date().toISOString(),
  };
  writeConnection(ctx, c);
  ctx.err(`tunnel up (pid ${pid}, log ${logFile(ctx)})`);
  await undoHint(async () => {
    await createContext(ctx, n.tunnelContext, `tcp://127.0.0.1:${opts.port}`);
    const arch = await waitForDocker(ctx, n.tunnelContext, deadline);
    ctx.err(`the builder's Docker answers through the tunnel (${arch})`);
    await createBuildx(ctx, n.builder, n.tunnelContext);
  });
  nextSteps(ctx, c);
}

export async function disconnect(ctx: Ctx): Promise<void> {
  const c = readConnection(ctx);
  if (!c) {
    ctx.out(`not connected (nothing recorded in ${ctx.stateDir})`);
    return;
  }
  const undone: string[] = [];
  const tryRun = async (cmd: string, args: string[]) => {
    try {
      return (await run(cmd, args, { env: ctx.env })).code === 0;
    } catch {
      return false; // a tool that is gone cannot hold anything of ours
    }
  };
  if (await tryRun('docker', ['buildx', 'rm', '--keep-state', c.builder])) undone.push(`buildx builder ${c.builder}`);
  if (await tryRun('docker', ['context', 'rm', '--force', c.context])) undone.push(`docker context ${c.context}`);
  if (c.mode === 'tunnel') {
    if (c.pid && isAlive(c.pid)) {
      killTunnel(c.pid);
      undone.push(`tunnel (pid ${c.pid})`);
    }
    fs.rmSync(pidFile(ctx), { force: true });
    fs.rmSync(logFile(ctx), { force: true });
  } else {
    if (c.publicKeyFile && (await tryRun('ssh-add', ['-d', c.publicKeyFile]))) undone.push('key in ssh-agent');
    removeInclude(ctx);
    for (const f of [c.sshConfig, c.publicKeyFile, path.join(ctx.stateDir, 'known_hosts')]) if (f) fs.rmSync(f, { force: true });
    undone.push('ssh config include');
  }
  fs.rmSync(gcConfigFile(ctx), { force: true });
  fs.rmSync(connectionFile(ctx), { force: true });
  ctx.out(`disconnected: removed ${undone.join(', ') || 'the stale record'}`);
}
