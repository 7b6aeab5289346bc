/**
 * Running the external tools (gcloud, docker, ssh-keygen, ssh-add, terraform). Output is captured, never
 * echoed: a secret read through a pipe stays in memory. A missing tool becomes a one-line CliError.
 */
import { spawn, SpawnOptions } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CliError } from './errors';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** Written to the child's stdin (e.g. a private key for `ssh-add -`). */
  input?: string;
  /** Inherit the terminal (interactive tools such as `terraform apply`). */
  inherit?: boolean;
  cwd?: string;
}

const INSTALL_HINT: Record<string, string> = {
  gcloud: 'install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install) and put gcloud on PATH',
  docker: 'install Docker with the buildx plugin (Docker Desktop, or docker-ce-cli + docker-buildx-plugin) and put docker on PATH',
  'ssh-keygen': 'install the OpenSSH client (ssh-keygen)',
  'ssh-add': 'install the OpenSSH client (ssh-add)',
  terraform: 'install Terraform (https://developer.hashicorp.com/terraform/install) and put it on PATH',
};

export function missingTool(cmd: string): CliError {
  return new CliError(`${cmd} not found on PATH: ${INSTALL_HINT[cmd] ?? `install ${cmd}`}`);
}

/** Runs a command to completion. Rejects only when the tool is missing; a non-zero exit is in `code`. */
export function run(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = {
      env: opts.env,
      cwd: opts.cwd,
      stdio: opts.inherit ? 'inherit' : ['pipe', 'pipe', 'pipe'],
    };
    const child = spawn(cmd, args, spawnOpts);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(missingTool(cmd));
      else reject(new CliError(`could not run ${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // a tool that exits early must not crash us with EPIPE
      child.stdin.end(opts.input ?? '');
    }
  });
}

/** Is `cmd` on PATH? Checked up front (without running it) so a missing docker fails before anything changes. */
export function requireTool(cmd: string, env: NodeJS.ProcessEnv): void {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return;
    } catch {
      // keep looking
    }
  }
  throw missingTool(cmd);
}
