/**
 * The commands people run against a builder, derived from its config alone: the stack prints them as outputs,
 * the CLI runs them, the README shows them. One place, so they never disagree.
 */
import type { Builder } from './load';

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
  const contextName = `arm64-${b.instance.name}`;
  const builderName = `multiarch-${b.instance.name}`;
  const localPort = b.docker.port;
  return {
    contextName,
    builderName,
    localPort,
    tunnel: `gcloud compute ssh ${b.sshKey.user}@${b.instance.name} ${where} --tunnel-through-iap -- -L 127.0.0.1:${localPort}:127.0.0.1:${b.docker.port} -N`,
    dockerContext: `docker context create ${contextName} --docker host=tcp://127.0.0.1:${localPort}`,
    buildxCreate: `docker buildx create --name ${builderName} --driver docker-container --platform linux/amd64 default`,
    buildxAppend: `docker buildx create --append --name ${builderName} --platform linux/arm64 ${contextName}`,
    start: `gcloud compute instances start ${b.instance.name} ${where}`,
    stop: `gcloud compute instances stop ${b.instance.name} ${where}`,
  };
}
