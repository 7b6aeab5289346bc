import { Construct } from 'constructs';
import { Fn, ITerraformDependable } from 'cdktf';
import { PrivateKey } from '@cdktf/provider-tls/lib/private-key';
import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
import { SecretManagerSecretVersion } from '@cdktf/provider-google/lib/secret-manager-secret-version';

/** Logical id of the generated key: `keys rotate` replaces exactly this address. */
export const GENERATED_KEY_ADDRESS = 'tls_private_key.builder_ssh_key';

export type SshKeySource =
  /** Terraform generates the pair (tls provider). The private key lives in Terraform state: protect the state. */
  | { mode: 'generate' }
  /** You generated the pair; only the public half is given. Terraform never sees the private key. */
  | { mode: 'external'; publicKey: string };

export interface SshKeySecretsProps {
  projectId: string;
  /** Default in config: `build-google_compute_engine-ssh-priv`. */
  privateKeySecretId: string;
  /** Default in config: `build-google_compute_engine-ssh-pub`. */
  publicKeySecretId: string;
  source: SshKeySource;
  labels?: Record<string, string>;
  dependsOn?: ITerraformDependable[];
}

/**
 * The SSH key pair Cloud Build and operators use to reach the builder through IAP: both halves in Secret
 * Manager (the runbook's two secrets). With an external key the private secret is created empty and filled
 * by `builder keys rotate` or `gcloud secrets versions add`.
 */
export class SshKeySecrets extends Construct {
  readonly privateKeySecret: SecretManagerSecret;
  readonly publicKeySecret: SecretManagerSecret;
  /** One OpenSSH public key line, no trailing newline. */
  readonly publicKeyOpenssh: string;

  constructor(scope: Construct, id: string, props: SshKeySecretsProps) {
    super(scope, id);
    const secret = (sid: string, secretId: string) =>
      new SecretManagerSecret(this, sid, {
        project: props.projectId,
        secretId,
        replication: { auto: {} },
        labels: props.labels,
        dependsOn: props.dependsOn,
      });
    this.privateKeySecret = secret('private', props.privateKeySecretId);
    this.publicKeySecret = secret('public', props.publicKeySecretId);

    if (props.source.mode === 'generate') {
      const key = new PrivateKey(this, 'key', { algorithm: 'ED25519' });
      key.overrideLogicalId(GENERATED_KEY_ADDRESS.split('.')[1]);
      // A reference, never the value: the key material exists only in Terraform state and Secret Manager.
      new SecretManagerSecretVersion(this, 'private-version', {
        secret: this.privateKeySecret.id,
        secretData: key.privateKeyOpenssh,
      });
      this.publicKeyOpenssh = Fn.trimspace(key.publicKeyOpenssh);
    } else {
      this.publicKeyOpenssh = props.source.publicKey.trim();
    }
    new SecretManagerSecretVersion(this, 'public-version', {
      secret: this.publicKeySecret.id,
      secretData: this.publicKeyOpenssh,
    });
  }
}
