/**
 * Runs the real CLI (in-process `main`, or the bin as a child process) against the stand-in gcloud/docker/
 * ssh-add/terraform in __tests__/cli/stubs, with a private HOME, TMPDIR, state dir and stub state per test.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../../cli/main';
import { loadConfig } from '../../../config/load';
import { renderBoot } from '../../../templates/boot';

export const ROOT = path.resolve(__dirname, '../../..');
const STUBS = path.join(__dirname, 'stubs');

export interface World {
  dir: string;
  stub: string;
  home: string;
  tmp: string;
  state: string;
  configFile: string;
  keyFile: string;
  /** The boot config hash of this world's config: what a ready VM publishes. */
  hash: string;
  env: NodeJS.ProcessEnv;
  /** Turns a scenario switch on (a file in the stub dir), optionally with content. */
  set(name: string, content?: string): void;
  calls(tool?: string): string[];
  read(name: string): string;
  /** The CLI in-process, with the world's directory as its working directory. */
  run(...argv: string[]): Promise<{ code: number; out: string; err: string }>;
  dispose(): void;
}

let sharedKey: string | undefined;

/** One real ed25519 key for all tests (ssh-keygen -y must accept what the stand-in secret returns). */
function testKey(): string {
  if (sharedKey && fs.existsSync(sharedKey)) return sharedKey;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-key-'));
  sharedKey = path.join(dir, 'id');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', sharedKey]);
  return sharedKey;
}

export function world(config: Record<string, unknown> = {}, opts: { path?: string } = {}): World {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-'));
  const sub = (n: string) => {
    const p = path.join(dir, n);
    fs.mkdirSync(p, { recursive: true });
    return p;
  };
  const stub = sub('stub');
  const home = sub('home');
  const tmp = sub('tmp');
  const state = sub('state');
  const configFile = path.join(dir, 'builder.json');
  fs.writeFileSync(configFile, JSON.stringify({ projectId: 'demo-project', zone: 'us-central1-a', ...config }));
  const keyFile = testKey();
  // What the VM publishes once its boot config (the one this config renders) has run.
  let hash = '';
  try {
    hash = renderBoot(loadConfig({ file: configFile, env: {} })[0]).configHash;
  } catch {
    // a deliberately invalid config: the CLI must refuse it before asking the VM anything
  }
  fs.writeFileSync(path.join(stub, 'ready_value'), hash);
  const env: NodeJS.ProcessEnv = {
    PATH: opts.path ?? `${STUBS}:/usr/bin:/bin`,
    HOME: home,
    TMPDIR: tmp,
    BUILDER_STATE_DIR: state,
    BUILDER_CONFIG: configFile,
    BUILDER_POLL_MS: '10',
    BUILDER_BACKOFF_MS: '10',
    STUB_DIR: stub,
    STUB_KEY: keyFile,
  };
  return {
    dir,
    stub,
    home,
    tmp,
    state,
    configFile,
    keyFile,
    hash,
    env,
    set: (name, content = '') => fs.writeFileSync(path.join(stub, name), content),
    calls: (tool) => {
      const f = path.join(stub, 'calls.log');
      const lines = fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
      return tool ? lines.filter((l) => l.startsWith(`${tool} `)) : lines;
    },
    read: (name) => fs.readFileSync(path.join(stub, name), 'utf8'),
    run: async (...argv) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(argv, { env, cwd: dir, out: (l) => out.push(l), err: (l) => err.push(l) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    },
    dispose: () => {
      // End any tunnel a test left behind (by its recorded pid), then remove the world.
      const conn = path.join(state, 'builder-arm64-2cpu', 'connection.json');
      if (fs.existsSync(conn)) {
        const pid = JSON.parse(fs.readFileSync(conn, 'utf8')).pid;
        if (pid) {
          try {
            process.kill(-pid, 'SIGTERM');
          } catch {
            // gone
          }
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A free local port for a tunnel (the OS picks it). */
export async function freePort(): Promise<number> {
  const net = await import('net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
