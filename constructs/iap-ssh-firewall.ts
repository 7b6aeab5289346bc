import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall';

export interface IapSshFirewallProps {
  projectId: string;
  network: string;
  /** Rules apply to VMs running as this service account (tags could be added to any VM by anyone with setTags). */
  targetServiceAccount: string;
  /** Names are derived from it: `<prefix>-allow-iap-ssh`, `<prefix>-deny-ssh`. */
  namePrefix: string;
  /** Default in config: IAP's TCP forwarding range 35.235.240.0/20. */
  iapSourceRanges: string[];
  /** Ports the deny rule closes besides 22: the Docker API ports. */
  dockerPorts: number[];
  /** Add the deny rule (default true). */
  denyOthers: boolean;
  dependsOn?: ITerraformDependable[];
}

/** Allow priority: above the deny rule and above the default network's `default-allow-ssh` (65534). */
export const ALLOW_PRIORITY = 1000;
/** Deny priority: loses to the IAP allow, beats `default-allow-ssh` — which stays untouched for other VMs. */
export const DENY_PRIORITY = 2000;

/**
 * SSH reaches the builder only through IAP. Instead of disabling the shared `default-allow-ssh` (the runbook's
 * step), a builder-scoped deny of tcp:22 and the Docker ports from everywhere sits below the IAP allow.
 */
export class IapSshFirewall extends Construct {
  readonly allowRuleName: string;
  readonly denyRuleName?: string;

  constructor(scope: Construct, id: string, props: IapSshFirewallProps) {
    super(scope, id);
    const common = {
      project: props.projectId,
      network: props.network,
      direction: 'INGRESS',
      targetServiceAccounts: [props.targetServiceAccount],
      dependsOn: props.dependsOn,
    };
    this.allowRuleName = `${props.namePrefix}-allow-iap-ssh`;
    new ComputeFirewall(this, 'allow-iap-ssh', {
      ...common,
      name: this.allowRuleName,
      description: 'SSH to the arm64 builder from Identity-Aware Proxy TCP forwarding only.',
      priority: ALLOW_PRIORITY,
      sourceRanges: props.iapSourceRanges,
      allow: [{ protocol: 'tcp', ports: ['22'] }],
    });
    if (props.denyOthers) {
      this.denyRuleName = `${props.namePrefix}-deny-ssh`;
      new ComputeFirewall(this, 'deny-other-ssh', {
        ...common,
        name: this.denyRuleName,
        description: 'No SSH or Docker API to the arm64 builder from anywhere but IAP.',
        priority: DENY_PRIORITY,
        sourceRanges: ['0.0.0.0/0'],
        deny: [{ protocol: 'tcp', ports: ['22', ...props.dockerPorts.map(String)] }],
        logConfig: { metadata: 'INCLUDE_ALL_METADATA' },
      });
    }
  }
}
