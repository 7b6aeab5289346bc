/**
 * The audit report synth writes into cdktf.out/audit: complete (every resource, grant and network path of the
 * synthesized Terraform, every rule), deterministic bytes, and a cost estimate whose arithmetic is pinned here.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { POLICY_RULE_IDS } from '../config/policy-rules';
import type { AuditReport } from '../audit/report';
import { estimateCost } from '../audit/cost';
import { withRuleTable } from '../audit/docs';
import { HOURS_PER_MONTH, NAT_PRICES, PRICES_DATE, REGION_PRICES } from '../audit/prices';
import { builder, synthTo } from './helpers';

const STACK = 'builder-arm64-2cpu';


const read = (outdir: string, file: string) => fs.readFileSync(path.join(outdir, 'audit', file), 'utf8');
const json = (outdir: string, stack = STACK) => JSON.parse(read(outdir, `${stack}.json`)) as AuditReport;
const tfOf = (outdir: string, stack = STACK) =>
  JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8')) as { resource: Record<string, Record<string, unknown>> };

const out = synthTo();
const report = json(out);

describe('audit report (default config)', () => {
  it('is written next to the stacks: Markdown, JSON and a summary', () => {
    expect(fs.readdirSync(path.join(out, 'audit')).sort()).toEqual(['README.md', `${STACK}.json`, `${STACK}.md`]);
    const md = read(out, `${STACK}.md`);
    for (const h of ['## Summary', '## Policy rules', '## Network paths into the VM', '## IAM grants', '## Resources', '## Estimated monthly cost']) expect(md).toContain(h);
    expect(read(out, 'README.md')).toContain(`| \`${STACK}\` | t2a-standard-2 in us-central1-a | 12/12 pass, 0 waived |`);
  });

  it('lists every resource of the synthesized stack with a purpose, and no unknown ones', () => {
    const tf = tfOf(out);
    const addresses = Object.entries(tf.resource).flatMap(([type, byId]) => Object.keys(byId).map((id) => `${type}.${id}`)).sort();
    expect(report.resources.map((r) => r.address)).toEqual(addresses);
    for (const r of report.resources) {
      expect(r.known).toBe(true);
      expect(r.purpose.length).toBeGreaterThan(10);
    }
    expect(report.dataSources.map((d) => d.address)).toEqual(['data.google_project.project']);
  });

  it('lists every IAM grant with who, role, scope, resource and why', () => {
    const tf = tfOf(out);
    const iamResources = Object.keys(tf.resource).filter((t) => /_iam_member$/.test(t)).flatMap((t) => Object.keys(tf.resource[t]).map((id) => `${t}.${id}`));
    expect(report.iamGrants.map((g) => g.address).sort()).toEqual(iamResources.sort());
    expect(report.iamGrants.every((g) => g.recorded && !g.member.includes('${') && !g.role.includes('${'))).toBe(true);
    expect(report.iamGrants).toContainEqual(
      expect.objectContaining({ member: 'serviceAccount:PROJECT_NUMBER@cloudbuild.gserviceaccount.com', role: 'roles/secretmanager.secretAccessor', scope: 'secret', resource: 'build-google_compute_engine-ssh-priv' }),
    );
    expect(report.iamGrants).toContainEqual(
      expect.objectContaining({ member: 'serviceAccount:builder@multi-arch-docker.iam.gserviceaccount.com', role: 'roles/artifactregistry.writer', scope: 'project' }),
    );
  });

  it('describes every network path into the VM', () => {
    expect(report.networkPaths.externalIp).toBe(false);
    expect(report.networkPaths.firewall.map((f) => [f.priority, f.action, f.ports, f.sources, f.appliesToBuilder])).toEqual([
      [1000, 'allow', ['tcp:22'], ['35.235.240.0/20'], true],
      [2000, 'deny', ['tcp:22,2375,2376'], ['0.0.0.0/0'], true],
    ]);
    expect(report.networkPaths.summary.join('\n')).toMatch(/no external IP[\s\S]*tcp:\/\/127\.0\.0\.1:2375 \(loopback\)/);
  });

  it("gives every rule's status", () => {
    expect(report.policy.map((p) => [p.id, p.status])).toEqual(POLICY_RULE_IDS.map((id) => [id, 'pass']));
    expect(report.summary.policy).toEqual({ pass: 12, waived: 0, fail: 0, total: 12 });
  });

  it('is byte-stable: same bytes from another directory, no machine paths, no timestamps but the price date', () => {
    const again = synthTo();
    for (const f of ['README.md', `${STACK}.md`, `${STACK}.json`]) {
      const text = read(out, f);
      expect(read(again, f)).toBe(text);
      for (const local of [os.tmpdir(), process.cwd(), os.homedir()]) expect(text).not.toContain(local);
      expect(text.match(/\d{4}-\d{2}-\d{2}/g)?.every((d) => d === PRICES_DATE) ?? true).toBe(true);
    }
  });
});

describe('audit report (several stacks, waivers, resources added outside the constructs)', () => {
  const reason = 'no UEFI image for this kernel test, until 2027-01';
  const multi = synthTo(
    {
      builders: [
        { policy: { waivers: [{ rule: 'shielded-vm', reason }] }, instance: { shieldedVm: false } },
        {
          zone: 'europe-west4-a',
          instance: { name: 'builder-eu', machineType: 't2a-standard-4', spot: true, diskType: 'pd-balanced' },
          serviceAccount: { accountId: 'builder-eu' },
          sshKey: { privateKeySecretId: 'eu-priv', publicKeySecretId: 'eu-pub' },
          network: { egress: 'public-ip' },
          artifactRegistry: { create: true, location: 'europe-west4', repositoryId: 'images' },
        },
      ],
    },
    {},
    (stacks) => {
      new StorageBucket(stacks[0], 'cache-bucket', { name: 'build-cache', location: 'US' });
      new ProjectIamMember(stacks[0], 'log-writer', { project: 'multi-arch-docker', role: 'roles/logging.logWriter', member: stacks[0].serviceAccount.member });
    },
  );

  it('summarises every stack in README.md, with its waived rules and their reasons', () => {
    const index = read(multi, 'README.md');
    expect(index).toContain(`| \`${STACK}\` | t2a-standard-2 in us-central1-a | 11/12 pass, 1 waived | \`shielded-vm\`: ${reason} |`);
    expect(index).toContain('| `builder-eu` | t2a-standard-4 in europe-west4-a (Spot) | 12/12 pass, 0 waived |');
    expect(index).toContain('2 resources or grants are not described by the builder constructs');
    expect(json(multi).policy.find((p) => p.id === 'shielded-vm')).toMatchObject({ status: 'waived', waiverReason: reason });
    expect(read(multi, `${STACK}.md`)).toContain(`| \`shielded-vm\` | WAIVED |`);
  });

  it('flags resources and grants the builder constructs did not add', () => {
    const a = json(multi);
    expect(a.resources.find((r) => r.address === 'google_storage_bucket.cache-bucket')).toMatchObject({ known: false, purpose: expect.stringMatching(/review it/) });
    expect(a.iamGrants.find((g) => g.address === 'google_project_iam_member.log-writer')).toMatchObject({ recorded: false, role: 'roles/logging.logWriter' });
  });

  it('shows the external IP of a public-ip builder as a network path and a cost line', () => {
    const eu = json(multi, 'builder-eu');
    expect(eu.networkPaths.externalIp).toBe(true);
    expect(eu.networkPaths.summary[0]).toMatch(/ephemeral external IP/);
    expect(eu.cost.lines.map((l) => l.item)).toEqual(['VM t2a-standard-4 (4 vCPU, 16 GB)', 'Boot disk pd-balanced', 'Ephemeral external IPv4 on the VM']);
    expect(eu.cost.estimates.join('\n')).toMatch(/europe-west4 disk prices are estimates/);
  });

  it('shows repository-scoped writers with their reason', () => {
    const writers = json(multi, 'builder-eu').iamGrants.filter((g) => g.role === 'roles/artifactregistry.writer');
    expect(writers.map((g) => [g.member, g.scope, g.resource, g.recorded])).toEqual([
      ['serviceAccount:PROJECT_NUMBER@cloudbuild.gserviceaccount.com', 'repository', 'images', true],
      ['serviceAccount:builder-eu@multi-arch-docker.iam.gserviceaccount.com', 'repository', 'images', true],
    ]);
    expect(writers[0].why).toMatch(/manifest list/);
  });
});

describe('cost estimate', () => {
  const H = HOURS_PER_MONTH;
  const us = REGION_PRICES['us-central1'];
  const cents = (x: number) => Math.round(x * 100) / 100;

  it('prices the default builder: VM on-demand vs Spot, pd-ssd, Cloud NAT gateway and its IP', () => {
    const c = estimateCost(builder());
    expect(H).toBe(730);
    expect(c).toMatchObject({ region: 'us-central1', selected: 'on-demand', pricesDate: PRICES_DATE });
    expect(c.lines.map((l) => [l.item, l.onDemand, l.spot])).toEqual([
      ['VM t2a-standard-2 (2 vCPU, 8 GB)', cents(2 * us.t2aBundleOnDemand * H), cents(2 * us.t2aBundleSpot * H)],
      ['Boot disk pd-ssd', cents(40 * us.disk['pd-ssd']), cents(40 * us.disk['pd-ssd'])],
      ['Cloud NAT gateway (1 VM)', cents(NAT_PRICES.perVmHour * H), cents(NAT_PRICES.perVmHour * H)],
      ['Cloud NAT IP address (AUTO_ONLY allocates one)', cents(NAT_PRICES.perNatIpHour * H), cents(NAT_PRICES.perNatIpHour * H)],
    ]);
    expect(c.alwaysOn.onDemand).toBe(cents(c.lines.reduce((s, l) => s + l.onDemand, 0)));
    expect(c.alwaysOn.spot).toBeLessThan(c.alwaysOn.onDemand);
    expect(c.notes[0]).toMatch(/idle shutdown after 30 min: VM-hours accrue only while the VM runs/);
    expect(c.notes.join('\n')).toMatch(/0\.045 USD per GiB through Cloud NAT/);
  });

  it('follows the config: Spot selected, no NAT without it, no idle note when idle shutdown is off', () => {
    const c = estimateCost(builder({ instance: { spot: true }, network: { egress: 'none' }, idleShutdownMinutes: 0 }));
    expect(c.selected).toBe('spot');
    expect(c.lines.map((l) => l.item)).toEqual(['VM t2a-standard-2 (2 vCPU, 8 GB)', 'Boot disk pd-ssd']);
    expect(c.notes[0]).toMatch(/always-on column applies/);
  });

  it('has prices for every zone the schema allows, and labels every estimate', () => {
    for (const zone of ['us-central1-a', 'europe-west4-b', 'asia-southeast1-c'] as const) {
      const c = estimateCost(builder({ zone }));
      expect(c.estimates.length).toBeGreaterThanOrEqual(2);
      expect(Object.keys(c.unitPrices).filter((k) => /split/.test(k)).every((k) => /estimated/.test(k))).toBe(true);
    }
  });
});

describe('docs/audit.md', () => {
  it('carries the rule table generated from the catalogue (run `npm run docs:audit` after changing a rule)', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'audit.md'), 'utf8');
    expect(doc).toBe(withRuleTable(doc));
    for (const id of POLICY_RULE_IDS) expect(doc).toContain(`| \`${id}\` |`);
  });
});
