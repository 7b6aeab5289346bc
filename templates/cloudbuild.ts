/**
 * The Cloud Build config for multi-arch builds with the builder VM (templates/cloudbuild.yaml.hbs and the
 * cb-*.hbs partials). The main synth writes it to cdktf.out/cloudbuild.<stackName>.yaml; `arm64-builder
 * cloud-build` renders and submits the same text.
 *
 * Steps run in the Cloud SDK image, the one image with gcloud, ssh and the docker CLI with buildx (the tunnel
 * and the docker client must share a step: Cloud Build steps do not share a network namespace). Values from the
 * config reach the scripts only as `env:` entries (YAML-quoted), so no config value is ever parsed as shell; the
 * scripts themselves contain no interpolation, only $$VARs.
 */
import type { Builder } from '../config/load';
import { renderBoot } from './boot';
import { render } from './render';

/** gcloud + openssh-client + docker CLI + buildx plugin (the :slim and :alpine variants lack docker). */
export const SDK_IMAGE = 'gcr.io/google.com/cloudsdktool/cloud-sdk:latest';

/** The substitutions the config declares; `cloud-build` sets the first four from its options. */
export const SUBSTITUTIONS = ['_IMAGE', '_TAG', '_DOCKERFILE', '_CONTEXT', '_AUTO_START_STOP', '_READY_TIMEOUT'] as const;
export type Substitution = (typeof SUBSTITUTIONS)[number];

export interface CloudBuildOptions {
  /** The boot config hash the start step waits for (default: renderBoot(builder).configHash; '' accepts any). */
  configHash?: string;
}

/** The registry path images go to by default: LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/app. */
export function defaultImage(b: Builder): string {
  return `${b.artifactRegistry.location}-docker.pkg.dev/${b.projectId}/${b.artifactRegistry.repositoryId}/app`;
}

export function defaultSubstitutions(b: Builder): Record<Substitution, string> {
  return {
    _IMAGE: defaultImage(b),
    _TAG: 'latest',
    _DOCKERFILE: 'Dockerfile',
    _CONTEXT: '.',
    _AUTO_START_STOP: 'true',
    _READY_TIMEOUT: '600',
  };
}

export function renderCloudBuild(builder: Builder, opts: CloudBuildOptions = {}): string {
  const b = builder;
  const configHash = opts.configHash ?? renderBoot(b).configHash;
  const commonEnv = [
    `PROJECT=${b.projectId}`,
    `ZONE=${b.zone}`,
    `INSTANCE=${b.instance.name}`,
    `SSH_USER=${b.sshKey.user}`,
    `DOCKER_PORT=${b.docker.port}`,
    `LOCAL_PORT=${b.docker.port}`,
    `CONFIG_HASH=${configHash}`,
    `BUILDER=cloudbuild-${b.stackName}`,
    `GC_KEEP_STORAGE=${b.docker.gcKeepStorageGb}GB`,
  ];
  const d = defaultSubstitutions(b);
  const data = {
    stackName: b.stackName,
    sdkImage: SDK_IMAGE,
    tunnel: b.docker.tcpListener === 'loopback',
    commonEnv,
    privateKeySecretVersion: `projects/${b.projectId}/secrets/${b.sshKey.privateKeySecretId}/versions/latest`,
    defaults: {
      image: d._IMAGE,
      tag: d._TAG,
      dockerfile: d._DOCKERFILE,
      context: d._CONTEXT,
      autoStartStop: d._AUTO_START_STOP,
      readyTimeout: d._READY_TIMEOUT,
    },
    serviceAccount: b.access.cloudBuildServiceAccount ? `projects/${b.projectId}/serviceAccounts/${b.access.cloudBuildServiceAccount}` : '',
    timeout: '3600s',
  };
  // Cloud Build would substitute a `$` in any value; the schema's patterns exclude it, this keeps it so.
  for (const v of [...commonEnv, data.privateKeySecretVersion, data.serviceAccount, ...Object.values(d)]) {
    if (v.includes('$')) throw new Error(`cloudbuild: value ${JSON.stringify(v)} contains '$', which Cloud Build would substitute`);
  }
  return render('cloudbuild.yaml', data);
}
