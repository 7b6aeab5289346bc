import { Construct } from 'constructs';
import { ProjectService } from '@cdktf/provider-google/lib/project-service';

/** The Google APIs the builder needs (the runbook enables them by hand when prompted). */
export const REQUIRED_APIS = [
  'compute.googleapis.com',
  'iap.googleapis.com',
  'secretmanager.googleapis.com',
  'artifactregistry.googleapis.com',
  'cloudbuild.googleapis.com',
  'iam.googleapis.com',
  'cloudresourcemanager.googleapis.com',
] as const;

export interface RequiredApisProps {
  projectId: string;
  /** Default: REQUIRED_APIS. */
  services?: readonly string[];
}

/**
 * Enables the APIs. They are never disabled on destroy: other workloads in the project may use them, and
 * disabling compute would delete every VM in it.
 */
export class RequiredApis extends Construct {
  /** Resources that must exist before anything calls these APIs (use as `dependsOn`). */
  readonly services: ProjectService[];

  constructor(scope: Construct, id: string, props: RequiredApisProps) {
    super(scope, id);
    this.services = (props.services ?? REQUIRED_APIS).map(
      (service) =>
        new ProjectService(this, service.split('.')[0], {
          project: props.projectId,
          service,
          disableOnDestroy: false,
          disableDependentServices: false,
        }),
    );
  }
}
