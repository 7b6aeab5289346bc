/**
 * Reads a VM's boot configuration the way the VM will run it: the startup-script or cloud-config from the instance
 * metadata in the synthesized Terraform (Terraform escapes undone), not the builder config. Rules about the Docker
 * listener and sshd are checked against this text, so a template edit or a metadata override is caught too.
 */
import { TfBlock, unescapeTerraform } from './terraform';

export interface DockerListener {
  /** Where it came from: the boot script's LISTENER/LISTENER_HOST variables, or a literal tcp:// in the text. */
  source: string;
  mode: string;
  host: string;
  port: string;
  tls: boolean;
}

export interface BootAnalysis {
  /** Metadata key the text came from, or undefined when the VM has no boot configuration. */
  key?: 'startup-script' | 'user-data';
  text: string;
  listeners: DockerListener[];
  /** Every PermitRootLogin value the text sets (variables resolved). */
  permitRootLogin: string[];
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|::1|\[::1\])$/i;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** `NAME='value'` / `readonly NAME="value"` / `NAME=value` assignments in a shell script (any indentation). */
function assignments(text: string, name: string): string[] {
  const re = new RegExp(`^[ \\t]*(?:readonly[ \\t]+|export[ \\t]+|declare[ \\t]+(?:-[a-zA-Z]+[ \\t]+)?)?${name}=(?:'([^']*)'|"([^"$]*)"|([^\\s'"$;]*))`, 'gm');
  const out: string[] = [];
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

export function analyzeBoot(metadata: TfBlock | undefined): BootAnalysis {
  const key = metadata?.['startup-script'] !== undefined ? 'startup-script' : metadata?.['user-data'] !== undefined ? 'user-data' : undefined;
  const text = key ? unescapeTerraform(String(metadata?.[key])) : '';
  const listeners: DockerListener[] = [];

  // The project's boot script: one listener, described by variables.
  const modes = assignments(text, 'LISTENER');
  const hosts = assignments(text, 'LISTENER_HOST');
  const ports = assignments(text, 'LISTENER_PORT');
  if (modes.length || hosts.length) {
    const mode = modes[modes.length - 1] ?? 'loopback';
    if (mode !== 'none') {
      listeners.push({
        source: 'boot script variables LISTENER/LISTENER_HOST',
        mode,
        host: hosts[hosts.length - 1] ?? '',
        port: ports[ports.length - 1] ?? '',
        tls: mode === 'tls',
      });
    }
  }
  // Anything else that starts dockerd on a literal TCP address (a dockerd -H flag, daemon.json "hosts", DOCKER_OPTS).
  for (const line of text.split('\n')) {
    for (const m of line.matchAll(/tcp:\/\/(\[[^\]]*\]|[^:/\s"'$]*):(\d+)/g)) {
      listeners.push({ source: `literal ${m[0]}`, mode: 'literal', host: m[1] || '0.0.0.0', port: m[2], tls: /--tlsverify|"tlsverify"\s*:\s*true/.test(line) });
    }
  }

  const permitRootLogin: string[] = [];
  for (const v of assignments(text, 'PERMIT_ROOT_LOGIN')) permitRootLogin.push(v);
  for (const m of text.matchAll(/^[ \t]*PermitRootLogin[ \t]+(\S+)/gim)) {
    if (!m[1].startsWith('$')) permitRootLogin.push(m[1]);
  }
  return { key, text, listeners, permitRootLogin };
}
