/**
 * arm64-builder: start/stop/status/connect/disconnect/keys rotate/cloud-build for the builder VM, reading the
 * same validated config as the stack (config/load.ts), so nothing is typed twice.
 *
 * Every failure is one line on stderr that says what to do, and a non-zero exit: 1 failed, 2 usage or config,
 * 3 timeout, 130 interrupted. Progress goes to stderr, results to stdout.
 */
import * as os from 'os';
import * as path from 'path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config/errors';
import { Builder, loadConfig } from '../config/load';
import { connect, disconnect, isAlive, readConnection } from './connect';
import { Cleanup, Ctx, Io, stateDirFor, timing } from './context';
import { CliError, EXIT } from './errors';
import { requireTool } from './exec';
import { describe, expectedHash, readiness, startAndWait, stop } from './gce';
import { rotate } from './keys';
import { submit } from './submit';

export const BIN = 'arm64-builder';

export interface MainOptions extends Partial<Io> {
  env?: NodeJS.ProcessEnv;
  /** Working directory (default: process.cwd()). */
  cwd?: string;
  cleanup?: Cleanup;
}

interface GlobalOpts {
  config?: string;
  stack?: string;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number of seconds greater than 0');
  return n;
}

function wholeSeconds(value: string): number {
  const n = seconds(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be a whole number of seconds');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1024 || n > 65535) throw new InvalidArgumentError('must be a port between 1024 and 65535');
  return n;
}

function selectBuilder(builders: Builder[], stack: string | undefined): Builder {
  if (stack) {
    const b = builders.find((x) => x.stackName === stack);
    if (!b) throw new CliError(`no stack named ${stack} in the config: use one of ${builders.map((x) => x.stackName).join(', ')}`, EXIT.USAGE);
    return b;
  }
  if (builders.length > 1) {
    throw new CliError(`the config has ${builders.length} builders: pass --stack with one of ${builders.map((x) => x.stackName).join(', ')}`, EXIT.USAGE);
  }
  return builders[0];
}

async function status(ctx: Ctx, json: boolean): Promise<void> {
  const b = ctx.builder;
  requireTool('gcloud', ctx.env);
  const info = await describe(ctx);
  const value = info.status === 'RUNNING' ? await readiness(ctx) : '';
  let expected = '';
  try {
    expected = expectedHash(ctx);
  } catch {
    // status still reports what the VM says
  }
  const ready = !value ? 'no' : !expected || value === expected ? 'yes' : `yes, but boot config ${value} differs from this config's ${expected} (deploy, then restart)`;
  const conn = readConnection(ctx);
  const tunnel = !conn
    ? 'not connected'
    : conn.mode === 'ssh'
      ? `ssh context ${conn.context}, builder ${conn.builder}`
      : `${isAlive(conn.pid) ? 'open' : 'DEAD (run disconnect)'} on 127.0.0.1:${conn.port} (pid ${conn.pid}), context ${conn.context}, builder ${conn.builder}`;
  const rows: Array<[string, string]> = [
    ['instance', b.instance.name],
    ['stack', b.stackName],
    ['project', b.projectId],
    ['zone', b.zone],
    ['state', info.status],
    ['ready', ready],
    ['machine type', info.machineType],
    ['provisioning', info.spot ? 'spot' : 'on-demand'],
    ['idle shutdown', b.idleShutdownMinutes > 0 ? `after ${b.idleShutdownMinutes} min idle` : 'off'],
    ['key mode', b.sshKey.mode],
    ['connection', tunnel],
  ];
  if (json) {
    ctx.out(
      JSON.stringify({
        instance: b.instance.name,
        stack: b.stackName,
        project: b.projectId,
        zone: b.zone,
        state: info.status,
        ready: Boolean(value) && (!expected || value === expected),
        readyValue: value,
        expectedConfigHash: expected,
        machineType: info.machineType,
        spot: info.spot,
        idleShutdownMinutes: b.idleShutdownMinutes,
        keyMode: b.sshKey.mode,
        connection: conn ?? null,
      }),
    );
    return;
  }
  for (const [k, v] of rows) ctx.out(`${k.padEnd(14)}${v}`);
}

export function buildProgram(io: Io, env: NodeJS.ProcessEnv, cleanup: Cleanup, cwd: string = process.cwd()): Command {
  const program = new Command(BIN);
  const ctxFor = (cmd: Command): Ctx => {
    const g = cmd.optsWithGlobals<GlobalOpts>();
    const given = g.config ?? (env.BUILDER_CONFIG || undefined);
    const file = given && path.resolve(cwd, given);
    const builder = selectBuilder(loadConfig({ file, env }), g.stack);
    return {
      ...io,
      builder,
      configDir: file ? path.dirname(file) : cwd,
      env,
      stateDir: stateDirFor(env, builder.stackName),
      ...timing(env),
      cleanup,
      tmpRoot: env.TMPDIR || os.tmpdir(),
      cwd,
    };
  };

  program
    .description('Start, stop, connect to and build with the arm64 builder VM (reads the same config as the stack).')
    .option('-c, --config <file>', 'config file (default: $BUILDER_CONFIG, else built-in defaults)')
    .option('-s, --stack <name>', 'which builder, when the config lists several')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .exitOverride();

  program
    .command('start')
    .description('start the VM and wait until it is RUNNING and its Docker reports ready')
    .addOption(new Option('--timeout <seconds>', 'give up after this long').argParser(seconds).default(600))
    .option('--any-config', 'accept a builder running a different boot config than this config renders')
    .action(async (o: { timeout: number; anyConfig?: boolean }, cmd: Command) => {
      const ctx = ctxFor(cmd);
      requireTool('gcloud', env);
      await startAndWait(ctx, { timeoutSec: o.timeout, anyConfig: Boolean(o.anyConfig) });
      ctx.out(`${ctx.builder.instance.name} ready; next: ${BIN} connect`);
    });

  program
    .command('stop')
    .description('stop the VM (it keeps its disk and build cache)')
    .option('--no-wait', 'return once the stop is requested')
    .action(async (o: { wait: boolean }, cmd: Command) => {
      const ctx = ctxFor(cmd);
      requireTool('gcloud', env);
      const conn = readConnection(ctx);
      if (conn && (conn.mode === 'ssh' || isAlive(conn.pid))) ctx.err(`note: still connected; run \`${BIN} disconnect\` to remove the tunnel, context and builder`);
      await stop(ctx, o.wait);
      ctx.out(`${ctx.builder.instance.name} ${o.wait ? 'stopped' : 'stopping'}`);
    });

  program
    .command('status')
    .description('instance state, readiness, zone, machine type, spot/on-demand, idle shutdown, connection')
    .option('--json', 'one JSON object')
    .action(async (o: { json?: boolean }, cmd: Command) => status(ctxFor(cmd), Boolean(o.json)));

  program
    .command('connect')
    .description('open the IAP tunnel in the background and create the docker context and a local-amd64 + remote-arm64 buildx builder')
    .addOption(new Option('--port <port>', 'local port of the tunnel (default: docker.port)').argParser(port))
    .option('--ssh', 'tunnel-free variant: docker context ssh://USER@INSTANCE via an ssh config with an IAP ProxyCommand (key in ssh-agent)')
    .option('--start', 'start the VM first if it is not running')
    .option('--any-config', 'with --start: accept a builder running a different boot config')
    .addOption(new Option('--timeout <seconds>', 'give up after this long').argParser(seconds).default(300))
    .option('--key-lifetime <time>', 'with --ssh: how long ssh-agent keeps the key (ssh-add -t)', '12h')
    .action(async (o: { port?: number; ssh?: boolean; start?: boolean; anyConfig?: boolean; timeout: number; keyLifetime: string }, cmd: Command) => {
      const ctx = ctxFor(cmd);
      await connect(ctx, {
        port: o.port ?? ctx.builder.docker.port,
        ssh: Boolean(o.ssh),
        start: Boolean(o.start),
        anyConfig: Boolean(o.anyConfig),
        timeoutSec: o.timeout,
        keyLifetime: o.keyLifetime,
      });
    });

  program
    .command('disconnect')
    .description('undo connect: remove the buildx builder and docker context, end the tunnel (or the ssh config and agent key)')
    .action(async (_o: unknown, cmd: Command) => disconnect(ctxFor(cmd)));

  const keys = program.command('keys').description('SSH key of the builder');
  keys
    .command('rotate')
    .description("new ed25519 pair: 'generate' mode via terraform apply -replace; 'external' mode via new secret versions + instance metadata")
    .option('--dry-run', 'print what would run, change nothing')
    .option('--yes', "generate mode: pass -auto-approve to terraform")
    .option('--out-dir <dir>', 'where the synth writes', 'cdktf.out')
    .action(async (o: { dryRun?: boolean; yes?: boolean; outDir: string }, cmd: Command) =>
      rotate(ctxFor(cmd), { dryRun: Boolean(o.dryRun), yes: Boolean(o.yes), outDir: o.outDir }),
    );

  program
    .command('cloud-build')
    .description('submit the rendered cloudbuild.yaml: a linux/amd64 + linux/arm64 image pushed to Artifact Registry')
    .argument('[source]', 'directory uploaded as the build source', '.')
    .option('--image <name>', 'image without tag (default: LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/app)')
    .option('--tag <tag>', 'image tag (default: latest)')
    .option('--dockerfile <path>', 'Dockerfile, relative to the source (default: Dockerfile)')
    .option('--context <dir>', 'build context, relative to the source (default: .)')
    .option('--no-start-stop', 'do not start the VM (it must be running) nor stop it afterwards')
    .addOption(new Option('--ready-timeout <seconds>', 'how long the build waits for the VM').argParser(wholeSeconds))
    .option('--any-config', 'accept a builder running a different boot config')
    .option('--async', 'return after submitting')
    .option('--dry-run', 'print the gcloud command, submit nothing')
    .action(async (source: string, o: Record<string, unknown>, cmd: Command) =>
      submit(ctxFor(cmd), {
        source,
        image: o.image as string | undefined,
        tag: o.tag as string | undefined,
        dockerfile: o.dockerfile as string | undefined,
        context: o.context as string | undefined,
        startStop: o.startStop !== false,
        readyTimeout: o.readyTimeout as number | undefined,
        anyConfig: Boolean(o.anyConfig),
        async: Boolean(o.async),
        dryRun: Boolean(o.dryRun),
      }),
    );

  return program;
}

/** Runs the CLI; returns the exit code (never throws, never prints a stack trace unless BUILDER_DEBUG=1). */
export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  const env = opts.env ?? process.env;
  const io: Io = {
    out: opts.out ?? ((l) => process.stdout.write(`${l}\n`)),
    err: opts.err ?? ((l) => process.stderr.write(`${l}\n`)),
  };
  const cleanup = opts.cleanup ?? new Cleanup();
  const program = buildProgram(io, env, cleanup, opts.cwd ?? process.cwd());
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.USAGE;
    }
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return 0;
      return EXIT.USAGE; // commander already printed the one-line reason
    }
    if (e instanceof CliError) {
      io.err(`${BIN}: ${e.message}`);
      return e.exitCode;
    }
    if (e instanceof ConfigError) {
      io.err(`${BIN}: ${e.message}`);
      return EXIT.USAGE;
    }
    io.err(`${BIN}: unexpected error: ${(e as Error)?.message ?? String(e)} (rerun with BUILDER_DEBUG=1 for details)`);
    if (env.BUILDER_DEBUG) io.err(String((e as Error)?.stack));
    return EXIT.FAILED;
  } finally {
    cleanup.run();
  }
}

/** The bin entry: Ctrl-C and SIGTERM still remove key files, then exit 130/143. */
export function run(argv: string[]): void {
  const cleanup = new Cleanup();
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup.run();
    process.stderr.write(`${BIN}: interrupted (${sig}); temporary key files removed\n`);
    process.exit(sig === 'SIGINT' ? EXIT.INTERRUPTED : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  void main(argv, { cleanup }).then((code) => {
    // Let stdout/stderr drain (pipes are asynchronous on macOS); the background tunnel is unref'd.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 1000).unref();
  });
}
