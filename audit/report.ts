/**
 * The audit report synth writes next to the stacks: cdktf.out/audit/<stack>.md (for people) and .json (for
 * tools), plus cdktf.out/audit/README.md (one summary over all stacks, what the PR workflow posts). Everything is
 * derived from the resolved Terraform the policy rules read, so a resource added outside the builder constructs
 * shows up too. Deterministic bytes: sorted, no timestamps (the only date is the price list's).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { BuilderStack } from '../constructs/builder-stack';
import type { Grant } from '../constructs/builder-access';
import { IAP_TCP_FORWARDING_RANGE } from '../config/facts';
import { POLICY_RULES } from '../config/policy-rules';
import type { PolicyReport } from '../policy/check';
import { analyzeBoot, isLoopback } from '../policy/boot';
import { blocks, dataSourcesOf, displayName, grantsOf, readable, resourcesOf, strings, TfBlock, TfJson, TfResource } from '../policy/terraform';
import { CostEstimate, estimateCost } from './cost';

export const AUDIT_DIR = 'audit';
export const AUDIT_SCHEMA = 'arm64-builder-audit/1';

// ---- resources and their purpose ----

type Purpose = (r: TfResource, tf: TfJson) => string;

const PURPOSES: Record<string, Purpose> = {
  google_project_service: (r) => `Enables ${String(r.body.service)} (never disabled on destroy: other workloads may use it)`,
  google_service_account: () => 'The identity the builder VM runs as; it may only push and pull Artifact Registry images',
  google_project_iam_custom_role: (r) => `Custom role holding only ${strings(r.body.permissions).join(', ')}`,
  google_project_iam_member: (r, tf) => `Project-level grant of ${readable(r.body.role, tf)} to ${readable(r.body.member, tf)}`,
  google_artifact_registry_repository: () => 'Docker repository for the multi-arch images; the builder may write only here',
  google_artifact_registry_repository_iam_member: (r, tf) => `Grants ${String(r.body.role)} on the repository to ${readable(r.body.member, tf)}`,
  tls_private_key: () => 'Generates the ed25519 SSH key pair (the private key is in Terraform state: protect the state)',
  google_secret_manager_secret: (r) => `Secret ${String(r.body.secret_id)}: holds one half of the builder's SSH key pair`,
  google_secret_manager_secret_version: (r, tf) => `The current value of secret ${readable(r.body.secret, tf)} (a reference, never the key in the code)`,
  google_secret_manager_secret_iam_member: (r, tf) => `Grants ${String(r.body.role)} on secret ${readable(r.body.secret_id, tf)} to ${readable(r.body.member, tf)}`,
  google_compute_firewall: (r) => String(r.body.description ?? 'Firewall rule'),
  google_compute_router: () => 'Cloud Router carrying the Cloud NAT',
  google_compute_router_nat: () => "Cloud NAT: outbound internet (apt, Docker's repository, base images) for the builder's subnetwork without a public IP",
  google_compute_instance: () => 'The T2A (arm64) VM: the remote Docker buildx node, reached through an IAP SSH tunnel',
  google_compute_instance_iam_member: (r, tf) => `Grants ${readable(r.body.role, tf)} on VM ${readable(r.body.instance_name, tf)} to ${readable(r.body.member, tf)}`,
  google_iap_tunnel_instance_iam_member: (r, tf) => `Lets ${readable(r.body.member, tf)} open IAP TCP tunnels to VM ${readable(r.body.instance, tf)}`,
  google_service_account_iam_member: (r, tf) => `Lets ${readable(r.body.member, tf)} act as ${readable(r.body.service_account_id, tf)} (${String(r.body.role)})`,
};

const DATA_PURPOSES: Record<string, string> = {
  google_project: "Reads the project number, for Cloud Build's default service account PROJECT_NUMBER@cloudbuild.gserviceaccount.com",
};

export interface AuditResource {
  address: string;
  type: string;
  name?: string;
  constructPath: string;
  purpose: string;
  /** False for types the audit table does not know: added outside the builder constructs, review them. */
  known: boolean;
}

function describeResource(r: TfResource, tf: TfJson): AuditResource {
  const purpose = PURPOSES[r.type];
  return {
    address: r.address,
    type: r.type,
    ...(displayName(r.body) ? { name: displayName(r.body) } : {}),
    constructPath: r.path,
    purpose: purpose ? purpose(r, tf) : 'Not described by the audit table (added outside the builder constructs): review it',
    known: Boolean(purpose),
  };
}

// ---- IAM grants ----

export interface AuditGrant {
  member: string;
  role: string;
  scope: string;
  resource: string;
  why: string;
  address: string;
  /** True when the grant is one BuilderAccess (or the service account construct) recorded with its reason. */
  recorded: boolean;
}

/** Why a grant the constructs make outside BuilderAccess exists (BuilderAccess records its own reasons). */
function roleWhy(role: string, member: string, builderMember: string): string | undefined {
  if (role !== 'roles/artifactregistry.writer') return undefined;
  return member === builderMember
    ? 'the builder VM pushes and pulls images (Artifact Registry Writer, as in the runbook)'
    : "pushes the multi-arch images: buildx --push forwards the client's credentials to both nodes and the client writes the manifest list";
}

function auditGrants(stack: BuilderStack, tf: TfJson): AuditGrant[] {
  const recorded: Grant[] = stack.access.grants;
  const builderMember = readable(stack.serviceAccount.member, tf);
  return grantsOf(tf, stack.config.stackName)
    .map((g): AuditGrant => {
      const match = recorded.find((r) => r.member === g.member && r.role === readable(g.role, tf) && r.resource === g.on);
      const why = match?.why ?? roleWhy(g.role, g.member, builderMember);
      return {
        member: g.member,
        role: readable(g.role, tf),
        scope: g.scope,
        resource: g.on,
        why: why ?? 'not recorded by the builder constructs: review it',
        address: g.resource.address,
        recorded: Boolean(why),
      };
    })
    .sort((a, b) => cmp(`${a.member}|${a.scope}|${a.resource}|${a.role}`, `${b.member}|${b.scope}|${b.resource}|${b.role}`));
}

// ---- network paths into the VM ----

export interface FirewallPath {
  address: string;
  name?: string;
  action: 'allow' | 'deny';
  priority: number;
  sources: string[];
  ports: string[];
  targets: string;
  appliesToBuilder: boolean;
  disabled: boolean;
}

export interface NetworkPaths {
  externalIp: boolean;
  firewall: FirewallPath[];
  dockerApi: string;
  summary: string[];
}

function protoPorts(rules: TfBlock[]): string[] {
  return rules.map((r) => {
    const ports = strings(r.ports);
    return `${String(r.protocol)}${ports.length ? `:${ports.join(',')}` : ' (all ports)'}`;
  });
}

function networkPaths(stack: BuilderStack, tf: TfJson, resources: TfResource[]): NetworkPaths {
  const b = stack.config;
  const builderVm = resources.find((r) => r.type === 'google_compute_instance' && r.body.name === b.instance.name);
  const builderSa = builderVm ? readable(blocks(builderVm.body.service_account)[0]?.email, tf) : '';
  const firewall: FirewallPath[] = resources
    .filter((r) => r.type === 'google_compute_firewall' && String(r.body.direction ?? 'INGRESS').toUpperCase() === 'INGRESS')
    .map((r) => {
      const allow = blocks(r.body.allow);
      const targetSas = strings(r.body.target_service_accounts).map((t) => readable(t, tf));
      const targetTags = strings(r.body.target_tags);
      const targets = targetSas.length
        ? `VMs running as ${targetSas.join(', ')}`
        : targetTags.length
          ? `VMs tagged ${targetTags.join(', ')}`
          : 'every VM in the network';
      let sources = strings(r.body.source_ranges);
      if (!sources.length && !strings(r.body.source_tags).length && !strings(r.body.source_service_accounts).length) sources = ['0.0.0.0/0'];
      sources = [...sources, ...strings(r.body.source_tags).map((t) => `tag:${t}`), ...strings(r.body.source_service_accounts).map((s) => `serviceAccount:${readable(s, tf)}`)];
      return {
        address: r.address,
        ...(displayName(r.body) ? { name: displayName(r.body) } : {}),
        action: allow.length ? ('allow' as const) : ('deny' as const),
        priority: typeof r.body.priority === 'number' ? r.body.priority : 1000,
        sources,
        ports: protoPorts(allow.length ? allow : blocks(r.body.deny)),
        targets,
        appliesToBuilder: targetSas.length ? targetSas.includes(builderSa) : !targetTags.length,
        disabled: r.body.disabled === true,
      };
    })
    .sort((x, y) => x.priority - y.priority || cmp(x.address, y.address));

  const externalIp = Boolean(builderVm && blocks(builderVm.body.network_interface).some((n) => blocks(n.access_config).length > 0));
  const boot = analyzeBoot(builderVm?.body.metadata as TfBlock | undefined);
  const listener = boot.listeners[0];
  const dockerApi = !listener
    ? 'dockerd listens on its unix socket only (no TCP listener): docker contexts use ssh://'
    : isLoopback(listener.host)
      ? `dockerd listens on tcp://${listener.host}:${listener.port} (loopback): reachable only through the SSH tunnel`
      : `dockerd listens on tcp://${listener.host}:${listener.port}${listener.tls ? ' with TLS client authentication (--tlsverify)' : ' WITHOUT TLS'}`;

  const summary: string[] = [];
  summary.push(
    externalIp
      ? 'The builder VM has an ephemeral external IP: the internet reaches it wherever an allow rule below permits.'
      : `The builder VM has no external IP: the only way in from outside is IAP TCP forwarding (${IAP_TCP_FORWARDING_RANGE}).`,
  );
  for (const f of firewall.filter((x) => x.appliesToBuilder && !x.disabled)) {
    summary.push(`${f.action === 'allow' ? 'Allowed' : 'Denied'}: ${f.ports.join(' ')} from ${f.sources.join(', ')} (priority ${f.priority}, ${f.name ?? f.address}).`);
  }
  summary.push(
    b.network.denyOtherSsh
      ? "Rules this stack does not manage (the default network's default-allow-ssh at 65534, default-allow-internal) still exist; the deny rule above outranks them for SSH and the Docker ports."
      : "network.denyOtherSsh is false: rules this stack does not manage (e.g. the default network's default-allow-ssh, 0.0.0.0/0 on tcp:22) may still reach the VM. Disable them or turn the deny rule back on.",
  );
  summary.push(`${dockerApi}.`);
  return { externalIp, firewall, dockerApi, summary };
}

// ---- the report ----

export interface AuditReport {
  schema: string;
  stack: string;
  summary: {
    projectId: string;
    zone: string;
    instance: string;
    machineType: string;
    spot: boolean;
    egress: string;
    idleShutdownMinutes: number;
    policy: { pass: number; waived: number; fail: number; total: number };
    monthlyAlwaysOnUsd: { onDemand: number; spot: number };
  };
  resources: AuditResource[];
  dataSources: AuditResource[];
  iamGrants: AuditGrant[];
  networkPaths: NetworkPaths;
  policy: Array<{ id: string; title: string; status: string; findings: Array<{ resource: string; detail: string }>; notes: string[]; waiverReason?: string }>;
  unusedWaivers: Array<{ rule: string; reason: string }>;
  cost: CostEstimate;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function buildAuditReport(stack: BuilderStack, policy: PolicyReport): AuditReport {
  const b = stack.config;
  const tf = policy.tf;
  const resources = resourcesOf(tf, b.stackName);
  const count = (s: string) => policy.results.filter((r) => r.status === s).length;
  const cost = estimateCost(b);
  return {
    schema: AUDIT_SCHEMA,
    stack: b.stackName,
    summary: {
      projectId: b.projectId,
      zone: b.zone,
      instance: b.instance.name,
      machineType: b.instance.machineType,
      spot: b.instance.spot,
      egress: b.network.egress,
      idleShutdownMinutes: b.idleShutdownMinutes,
      policy: { pass: count('pass'), waived: count('waived'), fail: count('fail'), total: policy.results.length },
      monthlyAlwaysOnUsd: cost.alwaysOn,
    },
    resources: resources.map((r) => describeResource(r, tf)),
    dataSources: dataSourcesOf(tf, b.stackName).map((d) => ({
      address: d.address,
      type: d.type,
      constructPath: d.path,
      purpose: DATA_PURPOSES[d.type] ?? 'Not described by the audit table: review it',
      known: d.type in DATA_PURPOSES,
    })),
    iamGrants: auditGrants(stack, tf),
    networkPaths: networkPaths(stack, tf, resources),
    policy: policy.results.map((r) => ({
      id: r.id,
      title: r.title,
      status: r.status,
      findings: r.findings,
      notes: r.notes,
      ...(r.waiver ? { waiverReason: r.waiver } : {}),
    })),
    unusedWaivers: policy.unusedWaivers,
    cost,
  };
}

// ---- Markdown ----

/** A table cell: one line, pipes escaped. */
function cell(v: unknown): string {
  return String(v ?? '').replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

function table(head: string[], rows: unknown[][]): string[] {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

const usd = (x: number) => `$${x.toFixed(2)}`;
const STATUS: Record<string, string> = { pass: 'pass', waived: 'WAIVED', fail: 'FAIL' };

export function renderMarkdown(a: AuditReport): string {
  const s = a.summary;
  const out: string[] = [];
  out.push(`# Audit: stack \`${a.stack}\``, '');
  out.push(
    `What this stack deploys, who may do what, how the VM can be reached, which policy rules it passes and what it costs. Generated by synth from the resolved Terraform (\`stacks/${a.stack}/cdk.tf.json\`); machine-readable twin: \`${a.stack}.json\`.`,
    '',
  );
  out.push('## Summary', '');
  out.push(
    ...table(
      ['', ''],
      [
        ['Project / zone', `${s.projectId} / ${s.zone}`],
        ['VM', `${s.instance} (${s.machineType}${s.spot ? ', Spot' : ', on-demand'})`],
        ['Egress', s.egress],
        ['Idle shutdown', s.idleShutdownMinutes ? `after ${s.idleShutdownMinutes} min` : 'off'],
        ['Policy', `${s.policy.pass} pass, ${s.policy.waived} waived, ${s.policy.fail} failing (of ${s.policy.total})`],
        ['Resources', `${a.resources.length} resources, ${a.dataSources.length} data sources, ${a.iamGrants.length} IAM grants`],
        ['Monthly, always on', `${usd(s.monthlyAlwaysOnUsd.onDemand)} on-demand / ${usd(s.monthlyAlwaysOnUsd.spot)} Spot (prices of ${a.cost.pricesDate})`],
      ],
    ),
    '',
  );

  out.push('## Policy rules', '');
  out.push(
    ...table(
      ['Rule', 'Status', 'What it checks', 'Details'],
      a.policy.map((p) => [
        `\`${p.id}\``,
        STATUS[p.status],
        p.title,
        [
          ...p.findings.map((f) => `${f.resource}: ${f.detail}`),
          ...(p.waiverReason ? [`waived: ${p.waiverReason}`] : []),
          ...p.notes,
        ].join('; ') || '—',
      ]),
    ),
    '',
  );
  if (a.unusedWaivers.length) {
    out.push('Waivers for rules that pass (they waive nothing; remove them):', '');
    for (const w of a.unusedWaivers) out.push(`- \`${w.rule}\`: ${w.reason}`);
    out.push('');
  }

  out.push('## Network paths into the VM', '');
  for (const line of a.networkPaths.summary) out.push(`- ${line}`);
  out.push('');
  out.push(
    ...table(
      ['Priority', 'Action', 'Ports', 'From', 'To', 'Rule'],
      a.networkPaths.firewall.map((f) => [f.priority, f.disabled ? `${f.action} (disabled)` : f.action, f.ports.join(' '), f.sources.join(', '), f.targets, f.name ?? f.address]),
    ),
    '',
  );

  out.push('## IAM grants', '');
  out.push(...table(['Who', 'Role', 'On', 'Why'], a.iamGrants.map((g) => [g.member, g.role, `${g.scope} ${g.resource}`, g.recorded ? g.why : `**${g.why}**`])), '');

  out.push('## Resources', '');
  out.push(
    ...table(
      ['Resource', 'Name', 'Construct', 'Purpose'],
      [...a.resources, ...a.dataSources].map((r) => [`\`${r.address}\``, r.name ?? '', r.constructPath, r.known ? r.purpose : `**${r.purpose}**`]),
    ),
    '',
  );

  const c = a.cost;
  out.push('## Estimated monthly cost', '');
  out.push(`${c.region}, ${c.currency}, ${c.hoursPerMonth} h a month, list prices of ${c.pricesDate}; this config runs the VM ${c.selected === 'spot' ? 'as Spot' : 'on-demand'}.`, '');
  out.push(
    ...table(
      ['Item', 'Quantity', 'Unit price', 'On-demand VM', 'Spot VM', 'Note'],
      [
        ...c.lines.map((l) => [l.item, l.quantity, l.unitPrice, usd(l.onDemand), usd(l.spot), [l.whileRunning ? 'only while running' : '', l.note ?? ''].filter(Boolean).join('; ')]),
        ['**Always on (730 h)**', '', '', `**${usd(c.alwaysOn.onDemand)}**`, `**${usd(c.alwaysOn.spot)}**`, ''],
      ],
    ),
    '',
  );
  for (const n of c.notes) out.push(`- ${n}.`);
  out.push(`- One running hour costs ${c.perRunningHour.onDemand} USD on-demand or ${c.perRunningHour.spot} USD Spot; ${usd(c.fixedMonthly)} a month is charged whether the VM runs or not.`);
  out.push('');
  out.push('Estimates (not list prices found in a source):', '');
  for (const e of c.estimates) out.push(`- ${e}.`);
  out.push('', 'Unit prices used:', '');
  out.push(...table(['Price', 'USD'], Object.entries(c.unitPrices).map(([k, v]) => [k, v])), '');
  out.push(`Sources: ${c.sources.join(', ')}.`, '');
  return out.join('\n');
}

/** The summary over every stack: what the PR workflow posts. */
export function renderIndex(reports: AuditReport[]): string {
  const out: string[] = ['# Audit summary', ''];
  out.push(
    ...table(
      ['Stack', 'VM', 'Policy', 'Waived rules', 'Monthly (always on)', 'Report'],
      reports.map((a) => [
        `\`${a.stack}\``,
        `${a.summary.machineType} in ${a.summary.zone}${a.summary.spot ? ' (Spot)' : ''}`,
        `${a.summary.policy.pass}/${a.summary.policy.total} pass, ${a.summary.policy.waived} waived`,
        a.policy.filter((p) => p.status === 'waived').map((p) => `\`${p.id}\`: ${p.waiverReason}`).join('; ') || '—',
        `${usd(a.summary.monthlyAlwaysOnUsd.onDemand)} on-demand / ${usd(a.summary.monthlyAlwaysOnUsd.spot)} Spot`,
        `audit/${a.stack}.md`,
      ]),
    ),
    '',
  );
  for (const a of reports) {
    out.push(`## \`${a.stack}\`: network paths`, '');
    for (const line of a.networkPaths.summary) out.push(`- ${line}`);
    const unrecorded = a.iamGrants.filter((g) => !g.recorded).length + a.resources.filter((r) => !r.known).length;
    if (unrecorded) out.push(`- **${unrecorded} resources or grants are not described by the builder constructs: see audit/${a.stack}.md.**`);
    out.push('');
  }
  out.push(`Rules: ${POLICY_RULES.map((r) => `\`${r.id}\``).join(', ')} (docs/audit.md). Prices of ${reports[0]?.cost.pricesDate ?? ''}.`, '');
  return out.join('\n');
}

/** Writes audit/<stack>.md, audit/<stack>.json and audit/README.md under `outdir` (the staging directory). */
export function writeAudit(outdir: string, stacks: BuilderStack[], policies: PolicyReport[]): string[] {
  const dir = path.join(outdir, AUDIT_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const reports = stacks.map((s, i) => buildAuditReport(s, policies[i]));
  const written: string[] = [];
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text.endsWith('\n') ? text : `${text}\n`);
    written.push(path.join(AUDIT_DIR, name));
  };
  for (const a of reports) {
    write(`${a.stack}.md`, renderMarkdown(a));
    write(`${a.stack}.json`, JSON.stringify(a, null, 2));
  }
  write('README.md', renderIndex(reports));
  return written;
}
