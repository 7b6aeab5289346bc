import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { ProjectIamCustomRole } from '@cdktf/provider-google/lib/project-iam-custom-role';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ComputeInstanceIamMember } from '@cdktf/provider-google/lib/compute-instance-iam-member';
import { IapTunnelInstanceIamMember } from '@cdktf/provider-google/lib/iap-tunnel-instance-iam-member';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';

/** What the runbook grants project-wide, narrowed to the one VM, the one secret and the one account. */
export const INSTANCE_USER_PERMISSIONS = [
  'compute.instances.get',
  'compute.instances.start',
  'compute.instances.stop',
  'compute.instances.getGuestAttributes',
];
/** Operators also rotate the key (`builder keys rotate` writes the instance's ssh-keys metadata). */
export const INSTANCE_OPERATOR_PERMISSIONS = [...INSTANCE_USER_PERMISSIONS, 'compute.instances.setMetadata'];
/** `gcloud compute ssh` reads the project (for project metadata); nothing else is needed project-wide. */
export const PROJECT_READER_PERMISSIONS = ['compute.projects.get'];

/** A custom role: the reference that orders Terraform, and the name people read. */
interface Role {
  ref: string;
  readable: string;
}

/** One IAM grant, as the audit report and reviewers read it. */
export interface Grant {
  member: string;
  role: string;
  /** `project`, `instance`, `secret`, `service-account` or `repository`. */
  scope: string;
  resource: string;
  why: string;
}

export interface BuilderAccessProps {
  projectId: string;
  zone: string;
  instanceName: string;
  /** `projects/P/serviceAccounts/EMAIL` of the builder account, for actAs. */
  builderServiceAccountName: string;
  /** Secret resource ids (`projects/P/secrets/S`). */
  privateKeySecret: string;
  publicKeySecret: string;
  /** Cloud Build's service account email (default resolved by the stack from the project number). */
  cloudBuildServiceAccountEmail: string;
  /** IAM members (group:…, user:…) who start, stop, tunnel and rotate keys. Default none. */
  operators: string[];
  /** Operators may add/disable key versions (external key mode; with generated keys Terraform rotates). */
  operatorsRotateKeys: boolean;
  /** Prefix for custom role ids (letters, digits, `_`). */
  roleIdPrefix: string;
  /** Readable names of the resources, for the grant list (tokens are not readable). */
  names: { instance: string; privateKeySecret: string; publicKeySecret: string; cloudBuild: string; builder: string };
  dependsOn?: ITerraformDependable[];
}

/**
 * IAM for the two kinds of callers: Cloud Build's service account and human operators. Least privilege:
 * every grant is on the instance, the secret or the account it concerns, except one custom role holding
 * only `compute.projects.get` on the project.
 */
export class BuilderAccess extends Construct {
  readonly grants: Grant[] = [];
  readonly cloudBuildMember: string;

  private readonly props: BuilderAccessProps;

  constructor(scope: Construct, id: string, props: BuilderAccessProps) {
    super(scope, id);
    this.props = props;
    const role = (rid: string, suffix: string, title: string, permissions: string[]): Role => {
      const roleId = `${props.roleIdPrefix}_${suffix}`;
      const resource = new ProjectIamCustomRole(this, rid, {
        project: props.projectId,
        roleId,
        title,
        description: `${title}: ${permissions.join(', ')}. Granted on one instance (or the project for compute.projects.get).`,
        permissions,
        dependsOn: props.dependsOn,
      });
      return { ref: resource.name, readable: `projects/${props.projectId}/roles/${roleId}` };
    };
    const userRole = role('instance-user-role', 'instance_user', 'arm64 builder: start, stop, read', INSTANCE_USER_PERMISSIONS);
    const projectRole = role('project-reader-role', 'project_reader', 'arm64 builder: read project', PROJECT_READER_PERMISSIONS);

    this.cloudBuildMember = `serviceAccount:${props.cloudBuildServiceAccountEmail}`;
    this.grantCaller('cloud-build', this.cloudBuildMember, `serviceAccount:${props.names.cloudBuild}`, 'Cloud Build', userRole, projectRole);

    if (props.operators.length > 0) {
      const operatorRole = role(
        'instance-operator-role',
        'instance_operator',
        'arm64 builder: start, stop, read, set keys',
        INSTANCE_OPERATOR_PERMISSIONS,
      );
      for (const member of props.operators) {
        const id = `operator-${member.replace(/[^A-Za-z0-9]+/g, '-')}`;
        this.grantCaller(id, member, member, 'operator', operatorRole, projectRole);
        if (props.operatorsRotateKeys) {
          for (const [sid, secret, name] of [
            ['private', props.privateKeySecret, props.names.privateKeySecret],
            ['public', props.publicKeySecret, props.names.publicKeySecret],
          ] as const) {
            new SecretManagerSecretIamMember(this, `${id}-${sid}-key-versions`, {
              project: props.projectId,
              secretId: secret,
              role: 'roles/secretmanager.secretVersionManager',
              member,
            });
            this.record(member, 'roles/secretmanager.secretVersionManager', 'secret', name, 'keys rotate: add new key versions, disable old ones');
          }
        }
      }
    }
  }

  /** The grants Cloud Build and operators share: reach, start and stop this one VM. */
  private grantCaller(id: string, member: string, shownAs: string, who: string, instanceRole: Role, projectRole: Role): void {
    const p = this.props;
    const record = (role: string, scope: string, resource: string, why: string) =>
      this.record(shownAs, role, scope, resource, `${who}: ${why}`);
    new ComputeInstanceIamMember(this, `${id}-instance`, {
      project: p.projectId,
      zone: p.zone,
      instanceName: p.instanceName,
      role: instanceRole.ref,
      member,
    });
    record(instanceRole.readable, 'instance', p.names.instance, 'start, stop and read the builder, read its readiness');
    new IapTunnelInstanceIamMember(this, `${id}-iap-tunnel`, {
      project: p.projectId,
      zone: p.zone,
      instance: p.instanceName,
      role: 'roles/iap.tunnelResourceAccessor',
      member,
    });
    record('roles/iap.tunnelResourceAccessor', 'instance', p.names.instance, 'SSH through the IAP tunnel');
    new SecretManagerSecretIamMember(this, `${id}-private-key`, {
      project: p.projectId,
      secretId: p.privateKeySecret,
      role: 'roles/secretmanager.secretAccessor',
      member,
    });
    record('roles/secretmanager.secretAccessor', 'secret', p.names.privateKeySecret, 'read the SSH private key');
    new ServiceAccountIamMember(this, `${id}-act-as-builder`, {
      serviceAccountId: p.builderServiceAccountName,
      role: 'roles/iam.serviceAccountUser',
      member,
    });
    record('roles/iam.serviceAccountUser', 'service-account', p.names.builder, "act as the VM's account (gcloud compute ssh may update instance metadata)");
    new ProjectIamMember(this, `${id}-project-reader`, { project: p.projectId, role: projectRole.ref, member });
    record(projectRole.readable, 'project', p.projectId, 'compute.projects.get, which gcloud compute ssh reads');
  }

  private record(member: string, role: string, scope: string, resource: string, why: string): void {
    this.grants.push({ member, role, scope, resource, why });
  }
}
