/**
 * The checks behind config/policy-rules.ts, one function per rule. Each reads the stack's resolved Terraform JSON
 * (every resource in it, whoever added it) and, for the opt-in rules, the builder config.
 */
import type { Builder } from '../config/load';
import type { PolicyRuleId } from '../config/policy-rules';
import { IAP_TCP_FORWARDING_RANGE } from '../config/facts';
import { analyzeBoot, isLoopback } from './boot';
import {
  blocks,
  cidrWithin,
  customRoleOf,
  grantsOf,
  label,
  ofType,
  portsInclude,
  strings,
  TfGrant,
  TfJson,
  TfResource,
  truthy,
} from './terraform';

export interface PolicyContext {
  tf: TfJson;
  config: Builder;
  stackName: string;
}

export interface Finding {
  /** `type.logical_id (name)` */
  resource: string;
  /** What is wrong, in one line. */
  detail: string;
}

export interface RuleOutcome {
  findings: Finding[];
  /** Things a reviewer should know even when the rule passes (opt-ins, what was not applicable). */
  notes: string[];
}

type Check = (ctx: PolicyContext) => RuleOutcome;

const VM_TYPES = ['google_compute_instance', 'google_compute_instance_template'];
const HIGH_LEVEL_SCOPES = ['project', 'folder', 'organization'];

function outcome(findings: Finding[] = [], notes: string[] = []): RuleOutcome {
  return { findings, notes };
}

function vms(ctx: PolicyContext): TfResource[] {
  return ofType(ctx.tf, ...VM_TYPES);
}

function highLevelGrants(ctx: PolicyContext): TfGrant[] {
  return grantsOf(ctx.tf, ctx.stackName).filter((g) => HIGH_LEVEL_SCOPES.includes(g.scope));
}

function grantFinding(g: TfGrant, what: string): Finding {
  return { resource: label(g.resource), detail: `grants ${what} to ${g.member} on the ${g.scope} ${g.on}` };
}

/** Permissions of a custom role the stack defines, when `role` references one. */
function customPermissions(role: string, tf: TfJson): string[] | undefined {
  const custom = customRoleOf(role, tf);
  return custom ? strings(custom.permissions) : undefined;
}

// ---- ssh-from-iap-only ----
const sshFromIapOnly: Check = (ctx) => {
  const sensitive = [...new Set([22, 2375, 2376, ctx.config.docker.port])].sort((a, b) => a - b);
  const findings: Finding[] = [];
  for (const fw of ofType(ctx.tf, 'google_compute_firewall')) {
    const b = fw.body;
    if (truthy(b.disabled)) continue;
    if (String(b.direction ?? 'INGRESS').toUpperCase() !== 'INGRESS') continue;
    const open = new Set<number>();
    for (const allow of blocks(b.allow)) {
      const proto = String(allow.protocol ?? '').toLowerCase();
      if (!['tcp', 'all', '6'].includes(proto)) continue;
      for (const port of sensitive) if (portsInclude(strings(allow.ports), port)) open.add(port);
    }
    if (open.size === 0) continue;
    let sources = strings(b.source_ranges);
    const internal = [...strings(b.source_tags).map((t) => `tag ${t}`), ...strings(b.source_service_accounts).map((s) => `service account ${s}`)];
    if (sources.length === 0 && internal.length === 0) sources = ['0.0.0.0/0 (no source given: GCP then allows every address)'];
    const outside = [
      ...sources.filter((s) => !cidrWithin(s.split(' ')[0], IAP_TCP_FORWARDING_RANGE)),
      ...internal,
    ];
    if (outside.length) {
      findings.push({
        resource: label(fw),
        detail: `allows tcp:${[...open].join(',')} from ${outside.join(', ')} (only ${IAP_TCP_FORWARDING_RANGE}, IAP TCP forwarding, may reach these ports)`,
      });
    }
  }
  return outcome(findings);
};

// ---- no-project-sa-impersonation ----
const IMPERSONATION_ROLES = ['roles/iam.serviceAccountUser', 'roles/iam.serviceAccountTokenCreator'];
const IMPERSONATION_PERMISSIONS = [
  'iam.serviceAccounts.actAs',
  'iam.serviceAccounts.getAccessToken',
  'iam.serviceAccounts.getOpenIdToken',
  'iam.serviceAccounts.implicitDelegation',
  'iam.serviceAccounts.signBlob',
  'iam.serviceAccounts.signJwt',
];
const noProjectSaImpersonation: Check = (ctx) => {
  const findings: Finding[] = [];
  for (const g of highLevelGrants(ctx)) {
    if (IMPERSONATION_ROLES.includes(g.role)) {
      findings.push(grantFinding(g, g.role));
      continue;
    }
    const perms = customPermissions(g.role, ctx.tf)?.filter((p) => IMPERSONATION_PERMISSIONS.includes(p));
    if (perms?.length) findings.push(grantFinding(g, `custom role ${g.role} with ${perms.join(', ')}`));
  }
  return outcome(findings);
};

// ---- no-basic-or-admin-project-roles ----
const BASIC_ROLES = ['roles/owner', 'roles/editor', 'roles/viewer'];
/** A member that is (or may be, being unknown until apply) a service account. */
function maybeServiceAccount(g: TfGrant): boolean {
  if (/^serviceAccount:/.test(g.member)) return true;
  if (/^(user|group|domain):/.test(g.member)) return false;
  return g.member.includes('${'); // a reference we cannot read: assume the worst
}
const noBasicOrAdminProjectRoles: Check = (ctx) => {
  const findings: Finding[] = [];
  for (const g of highLevelGrants(ctx)) {
    if (BASIC_ROLES.includes(g.role)) findings.push(grantFinding(g, `the basic role ${g.role}`));
    else if (/^roles\/.*admin/i.test(g.role) && maybeServiceAccount(g)) findings.push(grantFinding(g, `the admin role ${g.role} (service account)`));
  }
  return outcome(findings);
};

// ---- no-default-compute-sa ----
const noDefaultComputeSa: Check = (ctx) => {
  const findings: Finding[] = [];
  for (const vm of vms(ctx)) {
    for (const sa of blocks(vm.body.service_account)) {
      const email = sa.email === undefined ? '' : String(sa.email);
      if (!email || email === 'default' || /-compute@developer\.gserviceaccount\.com$/.test(email) || email.includes('google_compute_default_service_account')) {
        findings.push({ resource: label(vm), detail: `runs as the default Compute Engine service account (${email || 'email not set'})` });
      }
    }
  }
  return outcome(findings);
};

function metadataOf(vm: TfResource): Record<string, unknown> {
  const m = vm.body.metadata;
  return typeof m === 'object' && m !== null ? (m as Record<string, unknown>) : {};
}

// ---- block-project-ssh-keys ----
const blockProjectSshKeys: Check = (ctx) =>
  outcome(
    vms(ctx)
      .filter((vm) => !truthy(metadataOf(vm)['block-project-ssh-keys']))
      .map((vm) => ({ resource: label(vm), detail: `metadata block-project-ssh-keys is ${JSON.stringify(metadataOf(vm)['block-project-ssh-keys'] ?? '(unset)')}: project-wide SSH keys can log in` })),
  );

// ---- serial-port-disabled ----
const serialPortDisabled: Check = (ctx) =>
  outcome(
    vms(ctx)
      .filter((vm) => truthy(metadataOf(vm)['serial-port-enable']))
      .map((vm) => ({ resource: label(vm), detail: 'metadata serial-port-enable is TRUE: the interactive serial console is on' })),
  );

// ---- no-ip-forwarding ----
const noIpForwarding: Check = (ctx) =>
  outcome(vms(ctx).filter((vm) => truthy(vm.body.can_ip_forward)).map((vm) => ({ resource: label(vm), detail: 'can_ip_forward is true' })));

// ---- shielded-vm ----
/** Machine families that offer Shielded VM (every current family with UEFI images; T2A with the arm64 UEFI images). */
export const SHIELDED_VM_FAMILIES = ['a2', 'a3', 'c2', 'c2d', 'c3', 'c3d', 'c4', 'c4a', 'c4d', 'e2', 'g2', 'h3', 'm1', 'm2', 'm3', 'n1', 'n2', 'n2d', 'n4', 't2a', 't2d', 'z3'];
const shieldedVm: Check = (ctx) => {
  const findings: Finding[] = [];
  const notes: string[] = [];
  for (const vm of vms(ctx)) {
    const machineType = String(vm.body.machine_type ?? '');
    const family = machineType.split('/').pop()!.split('-')[0];
    if (!SHIELDED_VM_FAMILIES.includes(family) && !machineType.includes('${')) {
      notes.push(`${label(vm)}: machine family '${family}' is not known to offer Shielded VM; not checked`);
      continue;
    }
    const cfg = blocks(vm.body.shielded_instance_config)[0] ?? {};
    const off = [
      cfg.enable_secure_boot === true ? '' : 'Secure Boot',
      cfg.enable_vtpm === false ? 'vTPM' : '',
      cfg.enable_integrity_monitoring === false ? 'integrity monitoring' : '',
    ].filter(Boolean);
    if (off.length) findings.push({ resource: label(vm), detail: `${off.join(', ')} off on ${machineType}, which supports Shielded VM` });
  }
  return outcome(findings, notes);
};

// ---- no-public-ip ----
const noPublicIp: Check = (ctx) => {
  const findings: Finding[] = [];
  const notes: string[] = [];
  const optedIn = ctx.config.network.egress === 'public-ip';
  for (const vm of vms(ctx)) {
    const external = blocks(vm.body.network_interface).some((nic) => blocks(nic.access_config).length > 0 || blocks(nic.ipv6_access_config).length > 0);
    if (!external) continue;
    if (optedIn && vm.body.name === ctx.config.instance.name) {
      notes.push(`${label(vm)} has an ephemeral external IP: the config opts in (network.egress 'public-ip'); the firewall rules decide what reaches it`);
    } else {
      findings.push({ resource: label(vm), detail: `has an external IP (access_config)${optedIn ? ' and is not the builder VM the config opted in' : " but network.egress is not 'public-ip'"}` });
    }
  }
  return outcome(findings, notes);
};

// ---- secret-accessor-scoped ----
const SECRET_ROLES = ['roles/secretmanager.secretAccessor', 'roles/secretmanager.admin'];
const secretAccessorScoped: Check = (ctx) => {
  const findings: Finding[] = [];
  for (const g of highLevelGrants(ctx)) {
    if (SECRET_ROLES.includes(g.role)) findings.push(grantFinding(g, g.role));
    else if (customPermissions(g.role, ctx.tf)?.includes('secretmanager.versions.access')) {
      findings.push(grantFinding(g, `custom role ${g.role} with secretmanager.versions.access`));
    }
  }
  return outcome(findings);
};

// ---- docker-listener-loopback-or-tls ----
const dockerListener: Check = (ctx) => {
  const findings: Finding[] = [];
  const notes: string[] = [];
  for (const vm of vms(ctx)) {
    const boot = analyzeBoot(metadataOf(vm));
    if (!boot.key) {
      notes.push(`${label(vm)} has no boot configuration: no Docker listener to check`);
      continue;
    }
    for (const l of boot.listeners) {
      if (isLoopback(l.host) || l.tls) continue;
      findings.push({
        resource: label(vm),
        detail: `the ${boot.key} starts dockerd on tcp://${l.host || '(all addresses)'}:${l.port} without TLS (${l.source})`,
      });
    }
  }
  return outcome(findings, notes);
};

// ---- sshd-root-key-only ----
const sshdRootKeyOnly: Check = (ctx) => {
  const findings: Finding[] = [];
  const notes: string[] = [];
  const optedIn = ctx.config.sshd.permitRootLogin === 'yes';
  for (const vm of vms(ctx)) {
    const boot = analyzeBoot(metadataOf(vm));
    if (!boot.permitRootLogin.some((v) => v.toLowerCase() === 'yes')) continue;
    if (optedIn && vm.body.name === ctx.config.instance.name) {
      notes.push(`${label(vm)}: PermitRootLogin yes, as the config opts in (sshd.permitRootLogin 'yes'); password authentication stays off`);
    } else {
      findings.push({ resource: label(vm), detail: `the ${boot.key} sets PermitRootLogin yes but sshd.permitRootLogin is not 'yes'` });
    }
  }
  return outcome(findings, notes);
};

export const CHECKS: Record<PolicyRuleId, Check> = {
  'ssh-from-iap-only': sshFromIapOnly,
  'no-project-sa-impersonation': noProjectSaImpersonation,
  'no-basic-or-admin-project-roles': noBasicOrAdminProjectRoles,
  'no-default-compute-sa': noDefaultComputeSa,
  'block-project-ssh-keys': blockProjectSshKeys,
  'serial-port-disabled': serialPortDisabled,
  'no-ip-forwarding': noIpForwarding,
  'shielded-vm': shieldedVm,
  'no-public-ip': noPublicIp,
  'secret-accessor-scoped': secretAccessorScoped,
  'docker-listener-loopback-or-tls': dockerListener,
  'sshd-root-key-only': sshdRootKeyOnly,
};
