import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { ComputeRouter } from '@cdktf/provider-google/lib/compute-router';
import { ComputeRouterNat } from '@cdktf/provider-google/lib/compute-router-nat';

export interface NatEgressProps {
  projectId: string;
  region: string;
  network: string;
  /** Only this subnetwork gets NAT: other VMs in the network keep whatever egress they had. */
  subnetwork: string;
  /** Router `<prefix>-router`, NAT `<prefix>-nat`. */
  namePrefix: string;
  dependsOn?: ITerraformDependable[];
}

/**
 * Outbound internet (apt, Docker's repository, base images) for a VM without a public IP: a Cloud Router
 * with Cloud NAT, limited to the builder's subnetwork.
 */
export class NatEgress extends Construct {
  readonly routerName: string;
  readonly natName: string;

  constructor(scope: Construct, id: string, props: NatEgressProps) {
    super(scope, id);
    this.routerName = `${props.namePrefix}-router`;
    this.natName = `${props.namePrefix}-nat`;
    const router = new ComputeRouter(this, 'router', {
      project: props.projectId,
      region: props.region,
      network: props.network,
      name: this.routerName,
      description: 'Cloud NAT for the arm64 buildx builder.',
      dependsOn: props.dependsOn,
    });
    new ComputeRouterNat(this, 'nat', {
      project: props.projectId,
      region: props.region,
      router: router.name,
      name: this.natName,
      natIpAllocateOption: 'AUTO_ONLY',
      sourceSubnetworkIpRangesToNat: 'LIST_OF_SUBNETWORKS',
      subnetwork: [
        {
          name: `projects/${props.projectId}/regions/${props.region}/subnetworks/${props.subnetwork}`,
          sourceIpRangesToNat: ['ALL_IP_RANGES'],
        },
      ],
      logConfig: { enable: true, filter: 'ERRORS_ONLY' },
    });
  }
}
