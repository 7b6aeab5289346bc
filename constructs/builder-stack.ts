import { createHash } from 'crypto';
import { Construct } from 'constructs';
import { GcsBackend, LocalBackend, TerraformStack } from 'cdktf';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { TlsProvider } from '@cdktf/provider-tls/lib/provider';
import { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project';
import type { Builder } from '../config/load';
import { regionOf } from '../config/facts';
import { builderCommands } from '../config/commands';
import { renderBoot, RenderedBoot } from '../templates/boot';
import { escapeForTerraform } from '../templates/render';
import { RequiredApis } from './required-apis';
import { BuilderServiceAccount } from './builder-service-account';
import { DockerRepository } from './docker-repository';
import { SshKeySecrets } from './ssh-key-secrets';
import { IapSshFirewall } from './iap-ssh-firewall';
import { NatEgress } from './nat-egress';
import { BuilderInstance } from './builder-instance';
import { BuilderAccess } from './builder-access';
import { BuilderOutputs } from './builder-outputs';

/**
 * Custom role ids allow 64 characters of [A-Za-z0-9_.]; the longest suffix is `_instance_operator` (18).
 * Long instance names are shortened with a hash so two long names never share roles.
 */
export function roleIdPrefix(instanceName: string): string {
  const full = `armBuilder_${instanceName.replace(/-/g, '_')}`;
  if (full.length <= 64 - 18) return full;
  const hash = createHash('sha256').update(instanceName).digest('hex').slice(0, 8);
  return `${full.slice(0, 64 - 18 - 9)}_${hash}`;
}

/** Where the local state lives, relative to the stack's directory cdktf.out/stacks/<stack>: the project root. */
export function localStatePath(stackName: string): string {
  return `../../../terraform.${stackName}.tfstate`;
}

/**
 * One arm64 buildx builder, in the order of the runbook: APIs, the builder's service account, the SSH key in
 * Secret Manager, IAP-only SSH, egress, the VM with its boot configuration, and who may use it.
 */
export class BuilderStack extends TerraformStack {
  readonly config: Builder;
  readonly boot: RenderedBoot;
  readonly serviceAccount: BuilderServiceAccount;
  readonly sshKey: SshKeySecrets;
  readonly firewall: IapSshFirewall;
  readonly egress?: NatEgress;
  readonly repository?: DockerRepository;
  readonly instance: BuilderInstance;
  readonly access: BuilderAccess;

  constructor(scope: Construct, b: Builder) {
    super(scope, b.stackName);
    this.config = b;
    const project = b.projectId;
    const region = regionOf(b.zone);
    const labels = b.instance.labels;

    new GoogleProvider(this, 'google', { project, region, zone: b.zone });
    if (b.sshKey.mode === 'generate') new TlsProvider(this, 'tls', {});
    if (b.state.gcsBucket) {
      new GcsBackend(this, { bucket: b.state.gcsBucket, prefix: `${b.state.gcsPrefix}/${b.stackName}` });
    } else {
      new LocalBackend(this, { path: localStatePath(b.stackName) });
    }

    // Cloud Build's account: configured, or the legacy default derived from the project number.
    const cloudBuildEmail =
      b.access.cloudBuildServiceAccount ??
      `${new DataGoogleProject(this, 'project', { projectId: project }).number}@cloudbuild.gserviceaccount.com`;

    // 1. APIs (enabled, never disabled on destroy).
    const apis = new RequiredApis(this, 'apis', { projectId: project });
    const dependsOn = apis.services;

    // 2. The builder's service account: Artifact Registry Writer, scoped to the repository when we create one.
    this.serviceAccount = new BuilderServiceAccount(this, 'builder-sa', {
      projectId: project,
      accountId: b.serviceAccount.accountId,
      projectWideRegistryWriter: !b.artifactRegistry.create,
      dependsOn,
    });
    if (b.artifactRegistry.create) {
      this.repository = new DockerRepository(this, 'registry', {
        projectId: project,
        location: b.artifactRegistry.location,
        repositoryId: b.artifactRegistry.repositoryId,
        // Cloud Build pushes the multi-arch manifest (buildx forwards its credentials to both nodes).
        writers: [this.serviceAccount.member, `serviceAccount:${cloudBuildEmail}`],
        labels,
        dependsOn,
      });
    }

    // 3. The SSH key pair in Secret Manager.
    this.sshKey = new SshKeySecrets(this, 'ssh-key', {
      projectId: project,
      privateKeySecretId: b.sshKey.privateKeySecretId,
      publicKeySecretId: b.sshKey.publicKeySecretId,
      source: b.sshKey.mode === 'generate' ? { mode: 'generate' } : { mode: 'external', publicKey: b.publicKey! },
      labels,
      dependsOn,
    });

    // 4. IAP: tcp:22 from IAP's range only.
    const dockerPorts = [...new Set([b.docker.port, 2375, 2376])].sort((x, y) => x - y);
    this.firewall = new IapSshFirewall(this, 'iap-firewall', {
      projectId: project,
      network: b.network.name,
      targetServiceAccount: this.serviceAccount.email,
      namePrefix: b.instance.name,
      iapSourceRanges: b.network.iapSourceRanges,
      dockerPorts,
      denyOthers: b.network.denyOtherSsh,
      dependsOn,
    });

    // 5. Egress without a public IP.
    if (b.network.egress === 'cloud-nat') {
      this.egress = new NatEgress(this, 'egress', {
        projectId: project,
        region,
        network: b.network.name,
        subnetwork: b.network.subnetwork ?? b.network.name,
        namePrefix: b.instance.name,
        dependsOn,
      });
    }

    // 6. The VM and its boot configuration.
    this.boot = renderBoot(b);
    this.instance = new BuilderInstance(this, 'builder', {
      projectId: project,
      zone: b.zone,
      name: b.instance.name,
      machineType: b.instance.machineType,
      image: b.instance.image,
      diskType: b.instance.diskType,
      diskSizeGb: b.instance.diskSizeGb,
      network: b.network.name,
      subnetwork: b.network.subnetwork,
      publicIp: b.network.egress === 'public-ip',
      spot: b.instance.spot,
      shieldedVm: b.instance.shieldedVm,
      serviceAccountEmail: this.serviceAccount.email,
      sshKeys: `${b.sshKey.user}:${this.sshKey.publicKeyOpenssh}`,
      boot: { metadataKey: this.boot.metadataKey, content: escapeForTerraform(this.boot.content) },
      labels,
      dependsOn,
    });

    // 7. Who may use it: Cloud Build's service account and the operators.
    this.access = new BuilderAccess(this, 'access', {
      projectId: project,
      zone: b.zone,
      instanceName: this.instance.name,
      builderServiceAccountName: this.serviceAccount.name,
      privateKeySecret: this.sshKey.privateKeySecret.id,
      publicKeySecret: this.sshKey.publicKeySecret.id,
      cloudBuildServiceAccountEmail: cloudBuildEmail,
      operators: b.access.operators,
      operatorsRotateKeys: b.sshKey.mode === 'external',
      roleIdPrefix: roleIdPrefix(b.instance.name),
      names: {
        instance: b.instance.name,
        privateKeySecret: b.sshKey.privateKeySecretId,
        publicKeySecret: b.sshKey.publicKeySecretId,
        cloudBuild: b.access.cloudBuildServiceAccount ?? 'PROJECT_NUMBER@cloudbuild.gserviceaccount.com',
        builder: `${b.serviceAccount.accountId}@${project}.iam.gserviceaccount.com`,
      },
      dependsOn,
    });

    new BuilderOutputs(this, 'outputs', {
      projectId: project,
      zone: b.zone,
      instanceName: this.instance.name,
      builderServiceAccountEmail: this.serviceAccount.email,
      cloudBuildServiceAccountEmail: cloudBuildEmail,
      privateKeySecretId: b.sshKey.privateKeySecretId,
      publicKeySecretId: b.sshKey.publicKeySecretId,
      bootConfigHash: this.boot.configHash,
      commands: builderCommands(b),
    });
  }
}
