import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../config/load';
import { synthesize } from '../main';
import { tempDir } from './helpers';

const FIXTURES = path.join(__dirname, 'fixtures');

describe('defaults', () => {
  it('are the runbook values', () => {
    const [b] = loadConfig({ env: {} });
    expect(b).toMatchObject({
      stackName: 'builder-arm64-2cpu',
      projectId: 'multi-arch-docker',
      zone: 'us-central1-a',
      instance: { name: 'builder-arm64-2cpu', machineType: 't2a-standard-2', diskType: 'pd-ssd', diskSizeGb: 40, spot: false },
      serviceAccount: { accountId: 'builder' },
      sshKey: { mode: 'generate', privateKeySecretId: 'build-google_compute_engine-ssh-priv', publicKeySecretId: 'build-google_compute_engine-ssh-pub', user: 'root' },
      network: { iapSourceRanges: ['35.235.240.0/20'], egress: 'cloud-nat' },
      docker: { port: 2375, tcpListener: 'loopback', source: 'docker-ce' },
      sshd: { permitRootLogin: 'prohibit-password' },
    });
    expect(b.instance.image).toMatch(/debian-cloud\/global\/images\/family\/debian-\d+-arm64$/);
  });
});

describe('sources', () => {
  it('layers file over defaults and environment over file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'builder.json');
    fs.writeFileSync(file, JSON.stringify({ projectId: 'from-file-project', instance: { spot: true } }));
    const [b] = loadConfig({ file, env: { BUILDER_PROJECT_ID: 'from-env-project', BUILDER_OPERATORS: 'group:a@example.com, user:b@example.com' } });
    expect(b.projectId).toBe('from-env-project');
    expect(b.instance.spot).toBe(true);
    expect(b.instance.machineType).toBe('t2a-standard-2');
    expect(b.access.operators).toEqual(['group:a@example.com', 'user:b@example.com']);
  });

  it('reads the file named by $BUILDER_CONFIG', () => {
    const file = path.join(tempDir(), 'c.json');
    fs.writeFileSync(file, JSON.stringify({ zone: 'europe-west4-a' }));
    expect(loadConfig({ env: { BUILDER_CONFIG: file } })[0].zone).toBe('europe-west4-a');
  });

  it('makes one stack per entry of `builders`, each merged over the shared top level', () => {
    const file = path.join(tempDir(), 'two.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        projectId: 'shared-project',
        builders: [
          { instance: { name: 'builder-arm64-2cpu' } },
          {
            instance: { name: 'builder-arm64-8cpu', machineType: 't2a-standard-8' },
            serviceAccount: { accountId: 'builder-big' },
            sshKey: { privateKeySecretId: 'big-ssh-priv', publicKeySecretId: 'big-ssh-pub' },
            network: { egress: 'none' },
          },
        ],
      }),
    );
    const builders = loadConfig({ file, env: {} });
    expect(builders.map((b) => [b.stackName, b.projectId, b.instance.machineType])).toEqual([
      ['builder-arm64-2cpu', 'shared-project', 't2a-standard-2'],
      ['builder-arm64-8cpu', 'shared-project', 't2a-standard-8'],
    ]);
  });

  it('reads an external public key relative to the config file', () => {
    const file = path.join(FIXTURES, '..', 'fixtures', 'external.json');
    fs.writeFileSync(path.join(tempDir(), 'unused'), '');
    const dir = tempDir();
    fs.copyFileSync(path.join(FIXTURES, 'id_ed25519.pub'), path.join(dir, 'id_ed25519.pub'));
    const cfg = path.join(dir, 'cfg.json');
    fs.writeFileSync(cfg, JSON.stringify({ sshKey: { mode: 'external', publicKeyFile: 'id_ed25519.pub' } }));
    expect(loadConfig({ file: cfg, env: {} })[0].publicKey).toMatch(/^ssh-ed25519 AAAA\S+ ops@example$/);
    expect(file).toContain('fixtures');
  });
});

interface BadCase {
  name: string;
  config?: unknown;
  /** Raw file text instead of `config` (for JSON syntax errors). */
  raw?: string;
  env?: Record<string, string>;
  args?: string[];
  /** Fragments the one-line message must contain: field, value, what is allowed. */
  expect: [string, string, string];
}

const twoBuilders = (a: object, b: object) => ({ builders: [a, b] });

const BAD: BadCase[] = [
  { name: 'project id with capitals', config: { projectId: 'My_Project' }, expect: ['projectId', '"My_Project"', 'GCP project id'] },
  { name: 'project id too short', config: { projectId: 'abc' }, expect: ['projectId', '"abc"', '6-30 characters'] },
  { name: 'zone without T2A', config: { zone: 'us-east1-b' }, expect: ['zone', '"us-east1-b"', 'zone that offers T2A'] },
  { name: 'zone that does not exist', config: { zone: 'mars-north1-a' }, expect: ['zone', '"mars-north1-a"', 'us-central1-a'] },
  { name: 'x86 machine type', config: { instance: { machineType: 'n2-standard-2' } }, expect: ['instance.machineType', '"n2-standard-2"', 'T2A machine type'] },
  { name: 'T2A size that does not exist', config: { instance: { machineType: 't2a-standard-3' } }, expect: ['instance.machineType', '"t2a-standard-3"', 't2a-standard-4'] },
  { name: 'disk type T2A lacks', config: { instance: { diskType: 'hyperdisk-balanced' } }, expect: ['instance.diskType', '"hyperdisk-balanced"', 'pd-ssd'] },
  { name: 'disk too small', config: { instance: { diskSizeGb: 5 } }, expect: ['instance.diskSizeGb', '5', 'at least 10'] },
  { name: 'fractional disk size', config: { instance: { diskSizeGb: 40.5 } }, expect: ['instance.diskSizeGb', '40.5', 'whole number'] },
  { name: 'instance name not RFC 1035', config: { instance: { name: 'Builder_ARM' } }, expect: ['instance.name', '"Builder_ARM"', 'RFC 1035'] },
  { name: 'instance name starting with a dash', config: { instance: { name: '-builder' } }, expect: ['instance.name', '"-builder"', 'starting with a letter'] },
  { name: 'x86 image', config: { instance: { image: 'projects/debian-cloud/global/images/family/debian-12' } }, expect: ['instance.image', 'family/debian-12"', 'arm64 image'] },
  { name: 'CIDR with host bits', config: { network: { iapSourceRanges: ['35.235.240.1/20'] } }, expect: ['network.iapSourceRanges[0]', '"35.235.240.1/20"', 'no host bits'] },
  { name: 'CIDR that is not an address', config: { network: { iapSourceRanges: ['999.0.0.0/8'] } }, expect: ['network.iapSourceRanges[0]', '"999.0.0.0/8"', 'IPv4 CIDR'] },
  { name: 'no IAP range at all', config: { network: { iapSourceRanges: [] } }, expect: ['network.iapSourceRanges', '[]', 'at least one range'] },
  { name: 'egress mode unknown', config: { network: { egress: 'vpn' } }, expect: ['network.egress', '"vpn"', 'cloud-nat'] },
  { name: 'operator without a member type', config: { access: { operators: ['alice@example.com'] } }, expect: ['access.operators[0]', '"alice@example.com"', "'user:'"] },
  { name: 'Cloud Build account that is not an email', config: { access: { cloudBuildServiceAccount: 'cloudbuild' } }, expect: ['access.cloudBuildServiceAccount', '"cloudbuild"', 'service account email'] },
  { name: 'unknown key mode', config: { sshKey: { mode: 'rsa' } }, expect: ['sshKey.mode', '"rsa"', 'generate'] },
  { name: 'external key without a file', config: { sshKey: { mode: 'external' } }, expect: ['sshKey.publicKeyFile', '(missing)', "required when sshKey.mode is 'external'"] },
  { name: 'public key file that is a private key', config: { sshKey: { mode: 'external', publicKeyFile: path.join(FIXTURES, 'id_ed25519_private_by_mistake') } }, expect: ['sshKey.publicKeyFile', 'id_ed25519_private_by_mistake', 'PRIVATE key'] },
  { name: 'public key file missing', config: { sshKey: { mode: 'external', publicKeyFile: '/nonexistent/key.pub' } }, expect: ['sshKey.publicKeyFile', '/nonexistent/key.pub', 'ENOENT'] },
  { name: 'both secrets with one id', config: { sshKey: { publicKeySecretId: 'build-google_compute_engine-ssh-priv' } }, expect: ['sshKey.publicKeySecretId', '"build-google_compute_engine-ssh-priv"', 'must differ'] },
  { name: 'secret id with a slash', config: { sshKey: { privateKeySecretId: 'keys/priv' } }, expect: ['sshKey.privateKeySecretId', '"keys/priv"', 'letters, digits'] },
  { name: 'unknown top-level field', config: { instanceName: 'x' }, expect: ['(top level)', "'instanceName'", 'unknown field'] },
  { name: 'unknown nested field', config: { instance: { cpus: 4 } }, expect: ['instance', "'cpus'", 'unknown field'] },
  { name: 'spot as a string', config: { instance: { spot: 'yes' } }, expect: ['instance.spot', '"yes"', 'type boolean'] },
  { name: 'Docker listener on the network without TLS', config: { docker: { tcpListener: '0.0.0.0' } }, expect: ['docker.tcpListener', '"0.0.0.0"', 'loopback'] },
  { name: 'negative idle minutes', config: { idleShutdownMinutes: -5 }, expect: ['idleShutdownMinutes', '-5', '>=0'] },
  { name: 'state bucket with spaces', config: { state: { gcsBucket: 'Bad Bucket' } }, expect: ['state.gcsBucket', '"Bad Bucket"', 'GCS bucket name'] },
  { name: 'password root login spelled the old way', config: { sshd: { permitRootLogin: 'without-password' } }, expect: ['sshd.permitRootLogin', '"without-password"', 'prohibit-password'] },
  { name: 'registry that is not Artifact Registry', config: { docker: { registryHosts: ['docker.io'] } }, expect: ['docker.registryHosts[0]', '"docker.io"', 'us-docker.pkg.dev'] },
  { name: 'label key with capitals', config: { instance: { labels: { Team: 'ci' } } }, expect: ['instance.labels.Team', '"Team"', 'label keys'] },
  { name: 'JSON syntax error', raw: '{ "projectId": "x", }', expect: ['config file', '.json', 'valid JSON'] },
  { name: 'empty builders list', config: { builders: [] }, expect: ['builders', '[]', 'non-empty array'] },
  { name: 'two builders, one VM name', config: twoBuilders({}, { stackName: 'second' }), expect: ['builders[1].instance.name', 'builder-arm64-2cpu', 'not used by builders[0]'] },
  { name: 'two builders, two NATs in one region', config: twoBuilders({}, { instance: { name: 'builder-b' }, serviceAccount: { accountId: 'builder-b' }, sshKey: { privateKeySecretId: 'b-priv', publicKeySecretId: 'b-pub' } }), expect: ['builders[1].network.egress', 'cloud-nat', "one Cloud NAT per network and region"] },
  { name: 'bad value in the second builder', config: twoBuilders({}, { zone: 'us-west1-a' }), expect: ['builders[1].zone', '"us-west1-a"', 'offers T2A'] },
  { name: 'environment override with a bad boolean', config: {}, env: { BUILDER_SPOT: 'maybe' }, expect: ['instance.spot', '"maybe"', 'type boolean'] },
  { name: 'environment override with a bad zone', config: {}, env: { BUILDER_ZONE: 'us-east4-a' }, expect: ['zone', '"us-east4-a"', 'offers T2A'] },
  { name: 'waiver without a reason', config: { policy: { waivers: [{ rule: 'shielded-vm' }] } }, expect: ['policy.waivers[0].reason', '(missing)', 'is required: say why'] },
  { name: 'waiver with an empty reason', config: { policy: { waivers: [{ rule: 'shielded-vm', reason: '' }] } }, expect: ['policy.waivers[0].reason', '""', 'at least 20 characters'] },
  { name: 'waiver whose reason is only whitespace', config: { policy: { waivers: [{ rule: 'shielded-vm', reason: ' '.repeat(30) }] } }, expect: ['policy.waivers[0].reason', `"${' '.repeat(30)}"`, 'not all whitespace'] },
  { name: 'waiver with a too short reason', config: { policy: { waivers: [{ rule: 'shielded-vm', reason: 'legacy' }] } }, expect: ['policy.waivers[0].reason', '"legacy"', 'at least 20 characters'] },
  { name: 'waiver with a reason that is not text', config: { policy: { waivers: [{ rule: 'shielded-vm', reason: 42 }] } }, expect: ['policy.waivers[0].reason', '42', 'must be a string'] },
  { name: 'waiver with a reason longer than 500 characters', config: { policy: { waivers: [{ rule: 'shielded-vm', reason: 'x'.repeat(501) }] } }, expect: ['policy.waivers[0].reason', '"xxxx', 'at most 500'] },
  { name: 'waiver for an unknown rule id', config: { policy: { waivers: [{ rule: 'CKV_GCP_2', reason: 'the scanner id instead of ours, by mistake' }] } }, expect: ['policy.waivers[0].rule', '"CKV_GCP_2"', 'ssh-from-iap-only, no-project-sa-impersonation'] },
  { name: 'waiver rule id in the wrong case', config: { policy: { waivers: [{ rule: 'Shielded-VM', reason: 'no UEFI image for this kernel test yet' }] } }, expect: ['policy.waivers[0].rule', '"Shielded-VM"', 'must be a policy rule id'] },
  { name: 'waiver without a rule', config: { policy: { waivers: [{ reason: 'no UEFI image for this kernel test yet' }] } }, expect: ['policy.waivers[0].rule', '(missing)', 'must be a policy rule id'] },
  { name: 'two waivers for one rule', config: { policy: { waivers: [{ rule: 'shielded-vm', reason: 'no UEFI image for this kernel test yet' }, { rule: 'shielded-vm', reason: 'and another reason, written later on' }] } }, expect: ['policy.waivers[1].rule', '"shielded-vm"', 'waived twice (first at policy.waivers[0])'] },
  { name: 'waiver that is a bare rule id, not an object', config: { policy: { waivers: ['shielded-vm'] } }, expect: ['policy.waivers[0]', '"shielded-vm"', 'type object'] },
  { name: 'waivers that are not a list', config: { policy: { waivers: { rule: 'shielded-vm', reason: 'no UEFI image for this kernel test yet' } } }, expect: ['policy.waivers', '{"rule":"shielded-vm"', 'type array'] },
  { name: 'waiver with an unknown field', config: { policy: { waivers: [{ rule: 'shielded-vm', reason: 'no UEFI image for this kernel test yet', expires: '2027-01-01' }] } }, expect: ['policy.waivers[0]', "'expires'", 'unknown field'] },
  { name: 'unknown field in policy', config: { policy: { waive: ['shielded-vm'] } }, expect: ['policy', "'waive'", 'unknown field'] },
  { name: 'policy that is not an object', config: { policy: 'strict' }, expect: ['policy', '"strict"', 'type object'] },
  { name: 'bad waiver in the second builder', config: twoBuilders({}, { instance: { name: 'builder-b' }, serviceAccount: { accountId: 'builder-b' }, sshKey: { privateKeySecretId: 'b-priv', publicKeySecretId: 'b-pub' }, network: { egress: 'none' }, policy: { waivers: [{ rule: 'no-such-rule', reason: 'a reason that is long enough' }] } }), expect: ['builders[1].policy.waivers[0].rule', '"no-such-rule"', 'must be a policy rule id'] },
  { name: 'missing config file', args: ['--config', '/nonexistent/builder.json'], expect: ['config file', '/nonexistent/builder.json', 'ENOENT'] },
  { name: '--config without a path', args: ['--config'], expect: ['--config', '(missing)', 'path to a JSON config file'] },
  { name: 'unknown command-line flag', args: ['--stack', 'x'], expect: ['argument', '--stack', '--config FILE'] },
];

describe('bad input', () => {
  it(`covers at least 55 cases`, () => expect(BAD.length).toBeGreaterThanOrEqual(55));

  let stderr: string;
  beforeEach(() => {
    stderr = '';
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it.each(BAD.map((c) => [c.name, c] as const))('%s: names field, value and what is allowed; writes nothing', (_name, c) => {
    const dir = tempDir();
    const outdir = path.join(dir, 'cdktf.out');
    fs.mkdirSync(outdir);
    fs.writeFileSync(path.join(outdir, 'previous-output.txt'), 'untouched');
    let args = c.args ?? [];
    if (!c.args) {
      const file = path.join(dir, 'builder.json');
      fs.writeFileSync(file, c.raw ?? JSON.stringify(c.config));
      args = ['--config', file];
    }
    const code = synthesize(args, { ...c.env, CDKTF_OUTDIR: outdir });
    expect(code).toBe(2);
    const problem = stderr.split('\n').find((l) => l.includes(`- ${c.expect[0]}:`));
    expect(problem).toBeDefined();
    for (const fragment of c.expect) expect(problem).toContain(fragment);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(stderr).not.toContain('not-a-real-key'); // a private key file is never echoed
    expect(fs.readdirSync(dir).sort()).toEqual(c.args ? ['cdktf.out'] : ['builder.json', 'cdktf.out']);
    expect(fs.readdirSync(outdir)).toEqual(['previous-output.txt']);
  });
});
