import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance';

export interface BuilderInstanceProps {
  projectId: string;
  zone: string;
  /** Default in config: `builder-arm64-2cpu`. */
  name: string;
  /** A T2A type; default `t2a-standard-2`. */
  machineType: string;
  /** arm64 image; default the Debian 12 arm64 family. */
  image: string;
  /** Default `pd-ssd`, 40 GB (the runbook's disk). */
  diskType: string;
  diskSizeGb: number;
  network: string;
  subnetwork?: string;
  /** Ephemeral external IP (egress without NAT). Default false: the VM is reachable only through IAP. */
  publicIp: boolean;
  /** Spot VM, STOPPED (not deleted) on preemption. Default false. */
  spot: boolean;
  /** Secure Boot + vTPM + integrity monitoring. Default true. */
  shieldedVm: boolean;
  serviceAccountEmail: string;
  /** `<user>:<OpenSSH public key>` lines for instance metadata. */
  sshKeys: string;
  /** The boot configuration, already escaped for Terraform, and the metadata key it goes under. */
  boot: { metadataKey: 'startup-script' | 'user-data'; content: string };
  labels: Record<string, string>;
  dependsOn?: ITerraformDependable[];
}

/** The T2A VM that serves as the remote arm64 buildx node. */
export class BuilderInstance extends Construct {
  readonly name: string;
  readonly zone: string;
  readonly selfLink: string;
  /** `projects/P/zones/Z/instances/N`, for instance-level IAM. */
  readonly instanceId: string;

  constructor(scope: Construct, id: string, props: BuilderInstanceProps) {
    super(scope, id);
    const instance = new ComputeInstance(this, 'vm', {
      project: props.projectId,
      zone: props.zone,
      name: props.name,
      machineType: props.machineType,
      description: 'Remote arm64 Docker buildx node, reached through an IAP SSH tunnel.',
      labels: props.labels,
      bootDisk: {
        autoDelete: true,
        initializeParams: { image: props.image, type: props.diskType, size: props.diskSizeGb, labels: props.labels },
      },
      networkInterface: [
        {
          network: props.network,
          subnetwork: props.subnetwork,
          nicType: 'GVNIC',
          accessConfig: props.publicIp ? [{}] : undefined,
        },
      ],
      serviceAccount: { email: props.serviceAccountEmail, scopes: ['cloud-platform'] },
      metadata: {
        [props.boot.metadataKey]: props.boot.content,
        'ssh-keys': props.sshKeys,
        // Only the key above opens the VM: no project-wide keys, no OS Login, no serial console.
        'block-project-ssh-keys': 'TRUE',
        'enable-oslogin': 'FALSE',
        'serial-port-enable': 'FALSE',
        // The boot script publishes readiness (builder/ready) as a guest attribute.
        'enable-guest-attributes': 'TRUE',
      },
      scheduling: props.spot
        ? {
            provisioningModel: 'SPOT',
            preemptible: true,
            automaticRestart: false,
            onHostMaintenance: 'TERMINATE',
            instanceTerminationAction: 'STOP',
          }
        : // TERMINATE is valid on every series (live migration support on T2A is not documented); the VM
          // restarts by itself after host maintenance and holds no state a restart loses.
          { provisioningModel: 'STANDARD', automaticRestart: true, onHostMaintenance: 'TERMINATE' },
      shieldedInstanceConfig: {
        enableSecureBoot: props.shieldedVm,
        enableVtpm: props.shieldedVm,
        enableIntegrityMonitoring: props.shieldedVm,
      },
      canIpForward: false,
      allowStoppingForUpdate: true,
      dependsOn: props.dependsOn,
    });
    this.name = instance.name;
    this.zone = instance.zone;
    this.selfLink = instance.selfLink;
    this.instanceId = `projects/${props.projectId}/zones/${props.zone}/instances/${props.name}`;
  }
}
