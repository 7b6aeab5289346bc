import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';

export interface BuilderServiceAccountProps {
  projectId: string;
  /** Account id; default in config: `builder` (the runbook's). */
  accountId: string;
  /**
   * Grant Artifact Registry Writer on the whole project (the runbook's grant). False when a repository
   * construct scopes the grant to one repository instead.
   */
  projectWideRegistryWriter: boolean;
  dependsOn?: ITerraformDependable[];
}

/** The identity the VM runs as. It can push and pull images and nothing else. */
export class BuilderServiceAccount extends Construct {
  readonly email: string;
  /** `projects/P/serviceAccounts/EMAIL`, for IAM bindings on the account itself. */
  readonly name: string;
  readonly member: string;

  constructor(scope: Construct, id: string, props: BuilderServiceAccountProps) {
    super(scope, id);
    const account = new ServiceAccount(this, 'account', {
      project: props.projectId,
      accountId: props.accountId,
      displayName: 'arm64 buildx node',
      description: 'Runs the arm64 Docker buildx builder VM; may only push and pull Artifact Registry images.',
      dependsOn: props.dependsOn,
    });
    this.email = account.email;
    this.name = account.name;
    this.member = account.member;
    if (props.projectWideRegistryWriter) {
      new ProjectIamMember(this, 'registry-writer', {
        project: props.projectId,
        role: 'roles/artifactregistry.writer',
        member: account.member,
      });
    }
  }
}
