/**
 * Policy rules: for every rule, one case that fails (through synthesize(): exit 3, message naming rule, resource and
 * fix, cdktf.out untouched) and one near miss that passes. The failing cases are real bypass attempts: resources
 * added to a built BuilderStack, escape-hatch overrides, or config, all caught in the synthesized Terraform.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall';
import { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ProjectIamBinding } from '@cdktf/provider-google/lib/project-iam-binding';
import { ProjectIamPolicy } from '@cdktf/provider-google/lib/project-iam-policy';
import { ProjectIamCustomRole } from '@cdktf/provider-google/lib/project-iam-custom-role';
import { DataGoogleIamPolicy } from '@cdktf/provider-google/lib/data-google-iam-policy';
import { synthesize } from '../main';
import { BuilderStack } from '../constructs/builder-stack';
import { BuilderInput } from '../config/schema';
import { POLICY_RULE_IDS, POLICY_RULES, PolicyRuleId, policyRule } from '../config/policy-rules';
import { checkPolicy, PolicyReport } from '../policy/check';
import { analyzeBoot } from '../policy/boot';
import { cidrWithin, portsInclude, resolvedStack } from '../policy/terraform';
import { escapeForTerraform } from '../templates/render';
import { builder, tempDir } from './helpers';

type Mutate = (s: BuilderStack) => void;

function stack(config: BuilderInput = {}, add?: Mutate): BuilderStack {
  const s = new BuilderStack(Testing.app(), builder(config));
  add?.(s);
  return s;
}

const vm = (s: BuilderStack) => s.instance.node.findChild('vm') as ComputeInstance;

/** A second VM, as someone might add next to the builder. */
function rogueVm(s: BuilderStack, id: string, extra: Partial<ConstructorParameters<typeof ComputeInstance>[2]> = {}): ComputeInstance {
  return new ComputeInstance(s, id, {
    name: id,
    zone: 'us-central1-a',
    machineType: 't2a-standard-1',
    bootDisk: { initializeParams: { image: 'debian-12-arm64' } },
    networkInterface: [{ network: 'default' }],
    serviceAccount: { email: 'other@multi-arch-docker.iam.gserviceaccount.com', scopes: ['cloud-platform'] },
    metadata: { 'block-project-ssh-keys': 'TRUE' },
    shieldedInstanceConfig: { enableSecureBoot: true },
    ...extra,
  });
}

const editedBoot = new WeakMap<BuilderStack, string>();
/** The builder's boot script with an edit, put back in the VM's metadata (an escape-hatch override). Edits add up. */
function editBoot(s: BuilderStack, from: string, to: string): void {
  const current = editedBoot.get(s) ?? s.boot.content;
  expect(current).toContain(from);
  editedBoot.set(s, current.replace(from, to));
  vm(s).addOverride(`metadata.${s.boot.metadataKey}`, escapeForTerraform(editedBoot.get(s)!));
}

interface RuleCase {
  fail: { config?: object; add?: Mutate; resource: string };
  pass: { config?: BuilderInput; add?: Mutate; note?: RegExp };
}

const CASES: Record<PolicyRuleId, RuleCase> = {
  'ssh-from-iap-only': {
    fail: {
      add: (s) => new ComputeFirewall(s, 'rogue-ssh', { name: 'open-ssh', network: 'default', sourceRanges: ['0.0.0.0/0'], allow: [{ protocol: 'tcp', ports: ['22'] }] }),
      resource: 'google_compute_firewall.rogue-ssh (open-ssh)',
    },
    pass: {
      add: (s) => {
        new ComputeFirewall(s, 'https', { name: 'https', network: 'default', sourceRanges: ['0.0.0.0/0'], allow: [{ protocol: 'tcp', ports: ['443'] }] });
        new ComputeFirewall(s, 'iap-part', { name: 'iap-part', network: 'default', sourceRanges: ['35.235.241.0/24'], allow: [{ protocol: 'tcp', ports: ['20-30'] }] });
        new ComputeFirewall(s, 'off', { name: 'off', network: 'default', disabled: true, sourceRanges: ['0.0.0.0/0'], allow: [{ protocol: 'tcp', ports: ['22'] }] });
        new ComputeFirewall(s, 'deny-all', { name: 'deny-all', network: 'default', sourceRanges: ['0.0.0.0/0'], deny: [{ protocol: 'all' }] });
      },
    },
  },
  'no-project-sa-impersonation': {
    fail: {
      add: (s) => new ProjectIamMember(s, 'rogue-act-as', { project: 'multi-arch-docker', role: 'roles/iam.serviceAccountUser', member: 'group:devs@example.com' }),
      resource: 'google_project_iam_member.rogue-act-as',
    },
    // BuilderAccess grants serviceAccountUser on the one account; a project-wide role without actAs is fine.
    pass: { add: (s) => new ProjectIamMember(s, 'log-writer', { project: 'multi-arch-docker', role: 'roles/logging.logWriter', member: s.serviceAccount.member }) },
  },
  'no-basic-or-admin-project-roles': {
    fail: {
      add: (s) => new ProjectIamMember(s, 'rogue-editor', { project: 'multi-arch-docker', role: 'roles/editor', member: s.serviceAccount.member }),
      resource: 'google_project_iam_member.rogue-editor',
    },
    // An admin role for a person is not this rule's business (no service account involved).
    pass: { add: (s) => new ProjectIamMember(s, 'human-admin', { project: 'multi-arch-docker', role: 'roles/compute.admin', member: 'group:platform@example.com' }) },
  },
  'no-default-compute-sa': {
    fail: {
      add: (s) => rogueVm(s, 'rogue-vm', { serviceAccount: { email: '123456789012-compute@developer.gserviceaccount.com', scopes: ['cloud-platform'] } }),
      resource: 'google_compute_instance.rogue-vm (rogue-vm)',
    },
    pass: { add: (s) => rogueVm(s, 'own-sa-vm') },
  },
  'block-project-ssh-keys': {
    fail: { add: (s) => vm(s).addOverride('metadata.block-project-ssh-keys', 'FALSE'), resource: 'google_compute_instance.builder_vm_' },
    pass: { add: (s) => vm(s).addOverride('metadata.block-project-ssh-keys', 'true') },
  },
  'serial-port-disabled': {
    fail: { add: (s) => vm(s).addOverride('metadata.serial-port-enable', 'TRUE'), resource: 'google_compute_instance.builder_vm_' },
    pass: { add: (s) => rogueVm(s, 'no-serial-key') },
  },
  'no-ip-forwarding': {
    fail: { add: (s) => vm(s).addOverride('can_ip_forward', true), resource: 'google_compute_instance.builder_vm_' },
    pass: { add: (s) => rogueVm(s, 'plain-vm', { canIpForward: false }) },
  },
  'shielded-vm': {
    fail: { config: { instance: { shieldedVm: false } }, resource: 'google_compute_instance.builder_vm_' },
    // A family without Shielded VM support is not held to it (and the report says so).
    pass: { add: (s) => rogueVm(s, 'legacy-vm', { machineType: 'x9-legacy-2', shieldedInstanceConfig: undefined }), note: /machine family 'x9' is not known to offer Shielded VM/ },
  },
  'no-public-ip': {
    fail: {
      add: (s) => rogueVm(s, 'public-vm', { networkInterface: [{ network: 'default', accessConfig: [{}] }] }),
      resource: 'google_compute_instance.public-vm (public-vm)',
    },
    pass: { config: { network: { egress: 'public-ip' } }, note: /config opts in/ },
  },
  'secret-accessor-scoped': {
    fail: {
      add: (s) => new ProjectIamMember(s, 'rogue-secrets', { project: 'multi-arch-docker', role: 'roles/secretmanager.secretAccessor', member: 'group:devs@example.com' }),
      resource: 'google_project_iam_member.rogue-secrets',
    },
    pass: {}, // the default stack grants secretAccessor on the private-key secret only
  },
  'docker-listener-loopback-or-tls': {
    fail: { add: (s) => editBoot(s, "LISTENER_HOST='127.0.0.1'", "LISTENER_HOST='0.0.0.0'"), resource: 'google_compute_instance.builder_vm_' },
    pass: { config: { docker: { tcpListener: 'tls' } } },
  },
  'sshd-root-key-only': {
    fail: { add: (s) => editBoot(s, "PERMIT_ROOT_LOGIN='prohibit-password'", "PERMIT_ROOT_LOGIN='yes'"), resource: 'google_compute_instance.builder_vm_' },
    pass: { config: { sshd: { permitRootLogin: 'yes' } }, note: /config opts in/ },
  },
};

const defaults = checkPolicy(stack());
const status = (r: PolicyReport, id: PolicyRuleId) => r.results.find((x) => x.id === id)!;
const merge = (objs: Array<object | undefined>): object =>
  objs.reduce<Record<string, object>>((acc, o) => {
    for (const [k, v] of Object.entries(o ?? {})) acc[k] = { ...(acc[k] ?? {}), ...(v as object) };
    return acc;
  }, {});
const allAdds = (adds: Array<Mutate | undefined>): Mutate => (s) => adds.forEach((a) => a?.(s));
const cases = POLICY_RULE_IDS.map((id) => CASES[id]);

describe('policy catalogue', () => {
  it('has one check and one test case per rule, with title, rationale and fix', () => {
    expect(Object.keys(CASES).sort()).toEqual([...POLICY_RULE_IDS].sort());
    for (const r of POLICY_RULES) {
      for (const text of [r.title, r.rationale, r.fix]) expect(text.length).toBeGreaterThan(15);
      expect(r.fix).not.toMatch(/\.$/); // the message adds its own full stop
    }
  });

  it('passes every rule with the default config', () => {
    expect(defaults.results.map((r) => [r.id, r.status, r.findings])).toEqual(POLICY_RULE_IDS.map((id) => [id, 'pass', []]));
  });
});

/**
 * One synth carries every rule's violation (stacks take ~50 ms to build; the unit suite has 5 s): each test below
 * checks that its rule failed, on its resource, with its fix. The bypass tests further down build them one by one.
 */
describe('policy violations stop synth (exit 3, rule + resource + fix, cdktf.out untouched)', () => {
  let stderr = '';
  let code: number;
  let dir: string;
  let outdir: string;
  beforeAll(() => {
    dir = tempDir('builder-policy-');
    outdir = path.join(dir, 'cdktf.out');
    fs.mkdirSync(outdir);
    fs.writeFileSync(path.join(outdir, 'previous-output.txt'), 'untouched');
    fs.writeFileSync(path.join(dir, 'builder.json'), JSON.stringify(merge(cases.map((c) => c.fail.config))));
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const add = allAdds(cases.map((c) => c.fail.add));
      code = synthesize(['--config', path.join(dir, 'builder.json')], { CDKTF_OUTDIR: outdir }, (stacks) => stacks.forEach(add));
    } finally {
      write.mockRestore();
    }
  });

  it('exits 3, writes nothing, prints no stack trace', () => {
    expect(code).toBe(3);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).toContain('cdktf.out left as it was');
    expect(fs.readdirSync(dir).sort()).toEqual(['builder.json', 'cdktf.out']);
    expect(fs.readdirSync(outdir)).toEqual(['previous-output.txt']);
  });

  it.each(POLICY_RULE_IDS.map((id) => [id] as const))('%s fails, naming the resource and the fix', (id) => {
    const c = CASES[id].fail;
    const line = stderr.split('\n').find((l) => l.includes(`policy ${id} failed on ${c.resource}`));
    expect(line).toBeDefined();
    expect(line).toContain(`Fix: ${policyRule(id).fix}.`);
    expect(line).toContain('(waive with policy.waivers + reason)');
  });
});

describe('near misses pass', () => {
  // Every rule's near miss in one stack: each must leave every rule passing, not only its own.
  const nearMiss = checkPolicy(stack(merge(cases.map((c) => c.pass.config)) as BuilderInput, allAdds(cases.map((c) => c.pass.add))));

  it.each(POLICY_RULE_IDS.map((id) => [id] as const))('%s', (id) => {
    const result = status(nearMiss, id);
    expect([result.status, result.findings]).toEqual(['pass', []]);
    const note = CASES[id].pass.note;
    if (note) expect(result.notes.join('\n')).toMatch(note);
  });
});

describe('bypass attempts beyond the table', () => {
  const bypass = checkPolicy(
    stack({}, (s) => {
      const role = new ProjectIamCustomRole(s, 'sneaky-role', { project: 'multi-arch-docker', roleId: 'sneaky', title: 'sneaky', permissions: ['compute.instances.get', 'iam.serviceAccounts.actAs'] });
      new ProjectIamMember(s, 'sneaky-grant', { project: 'multi-arch-docker', role: role.name, member: 'user:eve@example.com' });
      new ProjectIamBinding(s, 'editors', { project: 'multi-arch-docker', role: 'roles/editor', members: ['user:a@example.com'] });
      const policy = new DataGoogleIamPolicy(s, 'policy', { binding: [{ role: 'roles/iam.serviceAccountTokenCreator', members: ['user:eve@example.com'] }] });
      new ProjectIamPolicy(s, 'whole-policy', { project: 'multi-arch-docker', policyData: policy.policyData });
      new ProjectIamMember(s, 'sa-admin', { project: 'multi-arch-docker', role: 'roles/compute.instanceAdmin.v1', member: s.serviceAccount.member });
      new ComputeFirewall(s, 'no-source', { name: 'no-source', network: 'default', allow: [{ protocol: 'tcp', ports: ['2375'] }] });
      rogueVm(s, 'docker-vm', { metadata: { 'block-project-ssh-keys': 'TRUE', 'startup-script': 'dockerd -H tcp://0.0.0.0:2375 &' } });
      rogueVm(s, 'tls-vm', { metadata: { 'block-project-ssh-keys': 'TRUE', 'startup-script': 'dockerd -H tcp://0.0.0.0:2376 --tlsverify --tlscacert=ca.pem' } });
    }),
  );
  const findings = (id: PolicyRuleId) => status(bypass, id).findings.map((f) => f.resource).join('\n');

  it('a project-wide custom role holding actAs counts as Service Account User', () => {
    expect(findings('no-project-sa-impersonation')).toMatch(/google_project_iam_member\.sneaky-grant/);
  });

  it('an authoritative binding and a whole project policy (from a google_iam_policy data source) are read too', () => {
    expect(findings('no-basic-or-admin-project-roles')).toMatch(/google_project_iam_binding\.editors/);
    expect(findings('no-project-sa-impersonation')).toMatch(/google_project_iam_policy\.whole-policy/);
  });

  it('an admin role for a service account, and a firewall with no source (GCP reads it as 0.0.0.0/0)', () => {
    expect(findings('no-basic-or-admin-project-roles')).toMatch(/google_project_iam_member\.sa-admin/);
    expect(findings('ssh-from-iap-only')).toMatch(/google_compute_firewall\.no-source/);
  });

  it("a literal dockerd -H tcp://0.0.0.0 in another VM's startup script, unless it has --tlsverify", () => {
    expect(findings('docker-listener-loopback-or-tls')).toMatch(/docker-vm/);
    expect(findings('docker-listener-loopback-or-tls')).not.toMatch(/tls-vm/);
  });
});

describe('boot config analysis', () => {
  it.each([
    ['startup-script', {}],
    ['user-data', { instance: { image: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-arm64' } }],
  ] as const)('finds the loopback listener and the sshd setting in the %s (the rules are not vacuous)', (key, config) => {
    const tf = key === 'startup-script' ? defaults.tf : resolvedStack(stack(config));
    const body = Object.values(tf.resource!.google_compute_instance)[0];
    const boot = analyzeBoot(body.metadata as Record<string, unknown>);
    expect(boot.key).toBe(key);
    expect(boot.listeners.map((l) => [l.host, l.port, l.tls])).toEqual([['127.0.0.1', '2375', false]]);
    expect(boot.permitRootLogin).toEqual(['prohibit-password']);
  });

  it('helpers: CIDR containment and port ranges', () => {
    expect(cidrWithin('35.235.240.0/20', '35.235.240.0/20')).toBe(true);
    expect(cidrWithin('35.235.244.0/22', '35.235.240.0/20')).toBe(true);
    expect(cidrWithin('35.235.0.0/16', '35.235.240.0/20')).toBe(false);
    expect(cidrWithin('::/0', '35.235.240.0/20')).toBe(false);
    expect(portsInclude(['1-1024'], 22)).toBe(true);
    expect(portsInclude(['80', '443'], 22)).toBe(false);
    expect(portsInclude([], 2375)).toBe(true);
  });
});

describe('waivers', () => {
  const reason = 'T2A image without UEFI for a kernel test, until 2027-01';
  const r = checkPolicy(
    stack(
      { instance: { shieldedVm: false }, policy: { waivers: [{ rule: 'shielded-vm', reason }, { rule: 'no-public-ip', reason: 'kept from an earlier public-ip setup' }] } },
      (s) => vm(s).addOverride('can_ip_forward', true),
    ),
  );

  it('turn a failing rule into waived, with the reason and the findings it covers', () => {
    expect(status(r, 'shielded-vm')).toMatchObject({ status: 'waived', waiver: reason });
    expect(status(r, 'shielded-vm').findings).toHaveLength(1);
  });

  it('waive only their rule: the others still fail', () => {
    expect(r.results.filter((x) => x.status === 'fail').map((x) => x.id)).toEqual(['no-ip-forwarding']);
  });

  it('that waive nothing are reported as unused', () => {
    expect(status(r, 'no-public-ip').status).toBe('pass');
    expect(r.unusedWaivers).toEqual([{ rule: 'no-public-ip', reason: 'kept from an earlier public-ip setup' }]);
  });
});
