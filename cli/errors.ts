/**
 * Operator-facing errors: one line that says what went wrong and what to do, a non-zero exit, no stack trace.
 * `classifyGcloud` turns gcloud's (multi-line) stderr into such a line; unknown failures keep gcloud's own
 * first ERROR line so nothing is hidden.
 */

export const EXIT = {
  FAILED: 1,
  USAGE: 2,
  TIMEOUT: 3,
  INTERRUPTED: 130,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILED,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface GcloudTarget {
  projectId: string;
  zone: string;
  instance: string;
}

/** The first `ERROR:` line of gcloud's output (or the first non-empty line), trimmed to one line. */
export function firstErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => l.startsWith('ERROR:')) ?? lines[0] ?? '(no output)';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/** IAP answers 4047/4003 while a just-started VM is not yet reachable: worth retrying, not worth failing. */
export function isTransientIap(text: string): boolean {
  if (FATAL_TUNNEL.test(text)) return false; // a denial also ends with "Connection closed": not worth retrying
  return /\b4047\b|Failed to lookup instance|\b4003\b|failed to connect to backend|Connection closed by|Connection refused|kex_exchange_identification|Connection reset/i.test(
    text,
  );
}

/** Answers that no retry will change. Keep in step with `fatal` in templates/partials/cb-build.hbs. */
export const FATAL_TUNNEL = /\b4033\b|not authorized|Permission denied|PERMISSION_DENIED|was not found|setMetadata/i;

/**
 * Maps a failed gcloud call to a CliError with a one-line remedy. `what` names the operation for the fallback.
 */
export function classifyGcloud(stderr: string, t: GcloudTarget, what: string): CliError {
  const s = stderr;
  if (/You do not currently have an active account|gcloud auth login|Reauthentication failed|problem refreshing your current auth tokens|could not find default credentials/i.test(s)) {
    return new CliError('gcloud is not logged in: run `gcloud auth login` (in CI, activate a service account), then retry');
  }
  if (/Failed to find project|Project '?[^ ]*'? (was )?not found|project.*does not exist|Unknown project id|Invalid resource field value in the request.*project|Project [^ ]+ is not found/i.test(s)) {
    return new CliError(
      `project ${t.projectId} not found or not accessible: check projectId in the config (or BUILDER_PROJECT_ID) and the account in \`gcloud auth list\``,
    );
  }
  if (/\b4033\b|not authorized|iap\.tunnelInstances\.accessViaIAP/i.test(s)) {
    return new CliError(
      `IAP denied the tunnel to ${t.instance}: you need roles/iap.tunnelResourceAccessor on it (add yourself to access.operators and deploy)`,
    );
  }
  if (/Permission denied \(publickey/i.test(s)) {
    return new CliError(
      `the VM rejected the SSH key: the key in Secret Manager does not match the instance metadata; deploy the stack or run \`keys rotate\``,
    );
  }
  if (/setMetadata/.test(s)) {
    return new CliError(
      `gcloud tried to add the key to ${t.instance}'s metadata, so the key in Secret Manager does not match the VM's ssh-keys: deploy the stack or run \`keys rotate\``,
    );
  }
  if (/instances\/[^'/ ]+' was not found|instance .* (was )?not found|resource .*instances\/.* not found/i.test(s)) {
    return new CliError(
      `instance ${t.instance} not found in project ${t.projectId}, zone ${t.zone}: deploy the stack first, or check instance.name and zone in the config`,
    );
  }
  if (/secrets\/[^ ]+ not found|Secret \[.*\] not found|NOT_FOUND.*secret/i.test(s)) {
    return new CliError(`a key secret was not found in project ${t.projectId}: deploy the stack first, or check sshKey.*SecretId in the config`);
  }
  if (/Required '[^']+' permission|PERMISSION_DENIED|Permission '[^']+' denied|does not have permission|HTTPError 403|\b403\b/i.test(s)) {
    const perm = /'([a-z]+\.[a-zA-Z]+\.[a-zA-Z]+)'/.exec(s)?.[1];
    return new CliError(
      `permission denied${perm ? ` (${perm})` : ''} while trying to ${what}: ask a project admin to add you to access.operators (or grant the role) and deploy`,
    );
  }
  if (/Address already in use|cannot listen to port|bind.*in use/i.test(s)) {
    return new CliError('the local tunnel port is in use: run `disconnect`, or pass --port with a free port');
  }
  return new CliError(`could not ${what}: ${firstErrorLine(s)}`);
}
