/**
 * Names and commands derived from a builder's config alone: the stack prints the commands as outputs, and the
 * CLI creates exactly the docker objects named here. One place, so they never disagree.
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

/** The paste-ready commands the stack prints as outputs (the CLI runs the same steps itself). */
export interface BuilderCommands {
  tunnel: string;
  dockerContext: string;
  buildxCreate: string;
  buildxAppend: string;
}

export function builderCommands(b: Builder): BuilderCommands {
  const { tunnelContext, builder } = localNames(b.stackName);
  const port = b.docker.port;
  return {
    tunnel: `gcloud compute ssh ${b.sshKey.user}@${b.instance.name} --project ${b.projectId} --zone ${b.zone} --tunnel-through-iap -- -L 127.0.0.1:${port}:127.0.0.1:${port} -N`,
    dockerContext: `docker context create ${tunnelContext} --docker host=tcp://127.0.0.1:${port}`,
    buildxCreate: `docker buildx create --name ${builder} --driver docker-container --platform linux/amd64 --node ${builder}-amd64 default`,
    buildxAppend: `docker buildx create --name ${builder} --append --node ${builder}-arm64 --platform linux/arm64 ${tunnelContext}`,
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
