import { Construct } from 'constructs';
import { TerraformOutput } from 'cdktf';
import type { BuilderCommands } from '../config/commands';

export interface BuilderOutputsProps {
  projectId: string;
  zone: string;
  instanceName: string;
  builderServiceAccountEmail: string;
  cloudBuildServiceAccountEmail: string;
  privateKeySecretId: string;
  publicKeySecretId: string;
  bootConfigHash: string;
  commands: BuilderCommands;
}

/**
 * What `cdktf deploy` prints: where the builder is, who it runs as, where its key lives, and the commands to
 * use it. Nothing secret: the private key stays in Secret Manager.
 */
export class BuilderOutputs extends Construct {
  constructor(scope: Construct, id: string, p: BuilderOutputsProps) {
    super(scope, id);
    const out = (name: string, value: string, description: string) =>
      new TerraformOutput(this, name, { value, description }).overrideLogicalId(name);
    out('project_id', p.projectId, 'Project of the builder.');
    out('instance_name', p.instanceName, 'Name of the arm64 builder VM.');
    out('instance_zone', p.zone, 'Zone of the builder VM.');
    out('builder_service_account', p.builderServiceAccountEmail, 'Service account the VM runs as.');
    out('cloud_build_service_account', p.cloudBuildServiceAccountEmail, 'Cloud Build service account granted access.');
    out('ssh_private_key_secret', p.privateKeySecretId, 'Secret Manager secret with the SSH private key.');
    out('ssh_public_key_secret', p.publicKeySecretId, 'Secret Manager secret with the SSH public key.');
    out('boot_config_hash', p.bootConfigHash, 'Value the VM publishes as guest attribute builder/ready once configured.');
    out('iap_tunnel_command', p.commands.tunnel, 'Forward the builder Docker API to 127.0.0.1 through IAP.');
    out('docker_context_command', p.commands.dockerContext, 'Docker context for the tunnelled arm64 node.');
    out('buildx_create_command', `${p.commands.buildxCreate} && ${p.commands.buildxAppend}`, 'buildx builder: local amd64 node plus the appended arm64 node.');
  }
}
