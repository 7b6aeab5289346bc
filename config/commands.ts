/**
 * The commands people run against a builder, derived from its config alone: the stack prints them as outputs,
 * the CLI runs them, the README shows them. One place, so they never disagree.
 */
import type { Builder } from './load';

/** Names of the local Docker objects for a builder (the CLI creates and removes exactly these). */
export function localNames(stackName: string) {
  return {
    /** Docker context for the tunnelled arm64 node (tcp://127.0.0.1:PORT). */
    tunnelContext: `${stackName}-tunnel`,
    /** Docker context for the tunnel-free variant (ssh://USER@INSTANCE through an IAP ProxyCommand). */
    sshContext: `${stackName}-ssh`,
    /** buildx builder: local amd64 node + appended remote arm64 node. */
    builder: `${stackName}-multiarch`,
  };
}

export interface BuilderCommands {
  /** Docker context for the tunnelled arm64 node. */
  contextName: string;
  /** buildx builder: the local amd64 node plus the appended remote arm64 node. */
  builderName: string;
  /** Local end of the tunnel: the VM's Docker port on 127.0.0.1. */
  localPort: number;
  tunnel: string;
  dockerContext: string;
  buildxCreate: string;
  buildxAppend: string;
  start: string;
  stop: string;
}

export function builderCommands(b: Builder): BuilderCommands {
  const where = `--project ${b.projectId} --zone ${b.zone}`;
  const names = localNames(b.stackName);
  const contextName = names.tunnelContext;
  const builderName = names.builder;
  const localPort = b.docker.port;
  return {
    contextName,
    builderName,
    localPort,
    tunnel: `gcloud compute ssh ${b.sshKey.user}@${b.instance.name} ${where} --tunnel-through-iap -- -L 127.0.0.1:${localPort}:127.0.0.1:${b.docker.port} -N`,
    dockerContext: `docker context create ${contextName} --docker host=tcp://127.0.0.1:${localPort}`,
    buildxCreate: `docker buildx create --name ${builderName} --driver docker-container --platform linux/amd64 --node ${builderName}-amd64 default`,
    buildxAppend: `docker buildx create --name ${builderName} --append --node ${builderName}-arm64 --platform linux/arm64 ${contextName}`,
    start: `gcloud compute instances start ${b.instance.name} ${where}`,
    stop: `gcloud compute instances stop ${b.instance.name} ${where}`,
  };
}

/**
 * buildkitd.toml for the nodes of the buildx builder. They run the docker-container driver (a BuildKit container
 * on each Docker), to which dockerd's daemon.json GC settings do not apply: the cache cap is passed here.
 */
export function buildkitdConfig(b: Builder): string {
  return [
    '# BuildKit garbage collection for this builder (docker-container driver; daemon.json GC does not apply).',
    '[worker.oci]',
    '  gc = true',
    `  gckeepstorage = "${b.docker.gcKeepStorageGb}GB"`,
    '',
  ].join('\n');
}
