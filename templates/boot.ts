/**
 * Boot configuration of the builder VM: turns a validated builder config into the values the templates use,
 * and renders either the GCE startup-script (Debian images) or a cloud-config (images that boot with cloud-init).
 */
import { createHash } from 'crypto';
import type { BuilderConfig } from '../config/schema';
import { render } from './render';

export type BootKind = 'startup-script' | 'cloud-init';

/** Everything the boot templates read. Plain data: the templates quote each value themselves. */
export interface BootVars {
  instanceName: string;
  /** Changes whenever any rendered byte changes; the VM re-applies its configuration only then. */
  configHash: string;
  dockerSource: 'docker-ce' | 'debian';
  dockerAptUrl: string;
  dockerKeyFingerprint: string;
  dockerPackages: string;
  /** Installed when the release has them (Debian's docker-buildx is not in bookworm); never required. */
  dockerOptionalPackages: string;
  /** docker-ce ships dockerd in /usr/bin, Debian's docker.io in /usr/sbin. */
  dockerdPath: string;
  listener: 'loopback' | 'tls' | 'none';
  listenerHost: string;
  listenerPort: number;
  /** listener 'tls': dockerd's CA and server certificate/key (ca.pem, server-cert.pem, server-key.pem) live here. */
  tlsDir: string;
  /** containerd's socket, passed to dockerd as in both packages' own units. */
  containerdSocket: string;
  permitRootLogin: 'prohibit-password' | 'yes';
  registryHosts: string[];
  gcKeepStorage: string;
  logMaxSize: string;
  logMaxFiles: number;
  idleShutdownMinutes: number;
  metadataUrl: string;
  /** Guest attribute (namespace/key) set to the config hash once Docker answers; see READY_GUEST_ATTRIBUTE. */
  readyAttribute: string;
  stateDir: string;
}

export interface RenderedBoot {
  kind: BootKind;
  /** The instance metadata key GCE reads it from. */
  metadataKey: 'startup-script' | 'user-data';
  content: string;
  configHash: string;
}

type BootInput = Pick<BuilderConfig, 'instance' | 'docker' | 'sshd' | 'idleShutdownMinutes'>;

const DEFAULT_DOCKER_APT = 'https://download.docker.com/linux/debian';
export const METADATA_URL = 'http://metadata.google.internal/computeMetadata/v1';
/**
 * The VM publishes `builder/ready=<configHash>` once Docker answers (and withdraws it at shutdown): clients wait
 * for it instead of sleeping. Needs instance metadata `enable-guest-attributes=TRUE`.
 */
export const READY_GUEST_ATTRIBUTE = 'builder/ready';

/** cloud-init for Ubuntu images when `auto`; Debian's GCE images run startup-scripts (no cloud-init). */
export function bootKindFor(instance: BuilderConfig['instance']): BootKind {
  if (instance.bootConfig !== 'auto') return instance.bootConfig;
  return /ubuntu/.test(instance.image) ? 'cloud-init' : 'startup-script';
}

export function bootVarsFor(cfg: BootInput, overrides: Partial<BootVars> = {}): BootVars {
  const isUbuntu = /ubuntu/.test(cfg.instance.image);
  const d = cfg.docker;
  const aptUrl = isUbuntu && d.aptUrl === DEFAULT_DOCKER_APT ? 'https://download.docker.com/linux/ubuntu' : d.aptUrl;
  return {
    instanceName: cfg.instance.name,
    configHash: '',
    dockerSource: d.source,
    dockerAptUrl: aptUrl,
    dockerKeyFingerprint: d.aptKeyFingerprint,
    dockerPackages: d.source === 'docker-ce' ? 'docker-ce docker-ce-cli containerd.io docker-buildx-plugin' : 'docker.io',
    dockerOptionalPackages: d.source === 'docker-ce' ? '' : 'docker-buildx',
    dockerdPath: d.source === 'docker-ce' ? '/usr/bin/dockerd' : '/usr/sbin/dockerd',
    listener: d.tcpListener,
    listenerHost: d.tcpListener === 'tls' ? '0.0.0.0' : '127.0.0.1',
    listenerPort: d.tcpListener === 'tls' ? 2376 : d.port,
    tlsDir: '/etc/docker/tls',
    containerdSocket: '/run/containerd/containerd.sock',
    permitRootLogin: cfg.sshd.permitRootLogin,
    registryHosts: d.registryHosts,
    gcKeepStorage: `${d.gcKeepStorageGb}GB`,
    logMaxSize: d.logMaxSize,
    logMaxFiles: d.logMaxFiles,
    idleShutdownMinutes: cfg.idleShutdownMinutes,
    metadataUrl: METADATA_URL,
    readyAttribute: READY_GUEST_ATTRIBUTE,
    stateDir: '/var/lib/buildx-node',
    ...overrides,
  };
}

const TEMPLATE: Record<BootKind, string> = { 'startup-script': 'startup-script.sh', 'cloud-init': 'cloud-config.yaml' };

/**
 * Renders the boot configuration. The hash is taken over the output rendered with an empty hash, so it covers
 * every template byte and every value; the same config always yields the same bytes.
 */
export function renderBoot(cfg: BootInput, overrides: Partial<BootVars> = {}): RenderedBoot {
  const kind = bootKindFor(cfg.instance);
  const vars = bootVarsFor(cfg, overrides);
  const unhashed = render(TEMPLATE[kind], { ...vars, configHash: '' });
  const configHash = createHash('sha256').update(unhashed).digest('hex').slice(0, 16);
  const content = render(TEMPLATE[kind], { ...vars, configHash });
  return { kind, metadataKey: kind === 'cloud-init' ? 'user-data' : 'startup-script', content, configHash };
}
