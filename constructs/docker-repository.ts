import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository';
import { ArtifactRegistryRepositoryIamMember } from '@cdktf/provider-google/lib/artifact-registry-repository-iam-member';

export interface DockerRepositoryProps {
  projectId: string;
  /** Region or multi-region; default in config `us` (host us-docker.pkg.dev, as in the runbook). */
  location: string;
  repositoryId: string;
  /** Members granted Artifact Registry Writer on this repository only. */
  writers: string[];
  labels?: Record<string, string>;
  dependsOn?: ITerraformDependable[];
}

/** A Docker repository for the multi-arch images, with writers scoped to it (not the whole project). */
export class DockerRepository extends Construct {
  /** e.g. `us-docker.pkg.dev/PROJECT/docker` */
  readonly imagePrefix: string;
  readonly host: string;

  constructor(scope: Construct, id: string, props: DockerRepositoryProps) {
    super(scope, id);
    const repo = new ArtifactRegistryRepository(this, 'repository', {
      project: props.projectId,
      location: props.location,
      repositoryId: props.repositoryId,
      format: 'DOCKER',
      description: 'Multi-arch images built with the arm64 buildx node.',
      labels: props.labels,
      dependsOn: props.dependsOn,
    });
    props.writers.forEach((member, i) => {
      new ArtifactRegistryRepositoryIamMember(this, `writer-${i}`, {
        project: props.projectId,
        location: props.location,
        repository: repo.name,
        role: 'roles/artifactregistry.writer',
        member,
      });
    });
    this.host = `${props.location}-docker.pkg.dev`;
    this.imagePrefix = `${this.host}/${props.projectId}/${props.repositoryId}`;
  }
}
