/**
 * The rendered cloudbuild.yaml: valid YAML; substitutions declared <=> used; no `$` Cloud Build would substitute
 * by accident; every step script passes shellcheck; only the permissions the stack grants; and the steps really
 * run (bash, with the stand-in gcloud/docker): start, IAP retry, two-node buildx build, stop also after a failure.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { loadConfig } from '../../../config/load';
import type { BuilderInput } from '../../../config/schema';
import { defaultSubstitutions, renderCloudBuild, SUBSTITUTIONS } from '../../../templates/cloudbuild';

const HASH = 'abcdef0123456789';

interface Step {
  id: string;
  name: string;
  entrypoint: string;
  args: string[];
  env?: string[];
  secretEnv?: string[];
}

function builderFor(input: BuilderInput = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-cfg-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, JSON.stringify({ projectId: 'demo-project', ...input }));
  const [b] = loadConfig({ file, env: {} });
  fs.rmSync(dir, { recursive: true });
  return b;
}

function doc(input: BuilderInput = {}) {
  const text = renderCloudBuild(builderFor(input), { configHash: HASH });
  return { text, yaml: parse(text) as { steps: Step[]; substitutions: Record<string, string>; availableSecrets: any; serviceAccount?: string; options: any } };
}

/** Every string in the document (keys excluded). */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => strings(x, out));
  return out;
}

/** Cloud Build's substitution: $$ -> $, ${_X}/$_X -> value; any other `$` would be substituted or rejected. */
function substitute(text: string, subs: Record<string, string>, used?: Set<string>): string {
  return text.replace(/\$(\$|\{([A-Z_][A-Z0-9_]*)\}|([A-Z_][A-Z0-9_]*)|.|$)/g, (m, _all, braced, bare) => {
    if (m === '$$') return '$';
    const key = braced ?? bare;
    if (!key) throw new Error(`bare '$' in ${JSON.stringify(text.slice(0, 80))}`);
    if (!(key in subs)) throw new Error(`$${key} is not a declared substitution`);
    used?.add(key);
    return subs[key];
  });
}

const variants: Array<[string, BuilderInput]> = [
  ['loopback tunnel', {}],
  ['ssh (tcpListener none) + own service account', { docker: { tcpListener: 'none' }, access: { cloudBuildServiceAccount: 'cb@demo-project.iam.gserviceaccount.com' } }],
];

describe.each(variants)('cloudbuild.yaml (%s)', (_name, input) => {
  const { yaml } = doc(input);

  test('parses; substitutions used == declared; no bare $', () => {
    expect(Object.keys(yaml.substitutions).sort()).toEqual([...SUBSTITUTIONS].sort());
    const used = new Set<string>();
    for (const s of strings(yaml)) substitute(s, yaml.substitutions, used);
    expect([...used].sort()).toEqual(Object.keys(yaml.substitutions).sort());
    expect(yaml.options).toEqual({ substitutionOption: 'MUST_MATCH', logging: 'CLOUD_LOGGING_ONLY' });
    expect(yaml.steps.map((s) => s.id)).toEqual(['start-builder', 'build', 'stop-builder', 'result']);
  });

  test('needs only what the stack grants Cloud Build (private key secret; instance start/stop/get/guest attributes; IAP)', () => {
    expect(yaml.availableSecrets).toEqual({
      secretManager: [{ versionName: 'projects/demo-project/secrets/build-google_compute_engine-ssh-priv/versions/latest', env: 'SSH_PRIVATE_KEY' }],
    });
    expect(yaml.steps.filter((s) => s.secretEnv).map((s) => [s.id, s.secretEnv])).toEqual([['build', ['SSH_PRIVATE_KEY']]]);
    const gcloud = new Set<string>();
    for (const s of yaml.steps) for (const m of s.args[1].matchAll(/gcloud ((?:[a-z-]+ ){1,3})/g)) gcloud.add(m[1].trim());
    const allowed = [
      'compute instances describe',
      'compute instances start',
      'compute instances stop',
      'compute instances get-guest-attributes',
      'compute ssh',
      'compute start-iap-tunnel',
      'auth configure-docker',
    ];
    for (const c of gcloud) expect(allowed.some((a) => c.startsWith(a))).toBe(true);
    expect(new Set(yaml.steps.map((s) => s.name))).toEqual(new Set(['gcr.io/google.com/cloudsdktool/cloud-sdk:latest']));
  });
});

test('every step script of every variant passes shellcheck (one shellcheck run)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-sc-'));
  const files: string[] = [];
  variants.forEach(([, input], i) => {
    const { yaml } = doc(input);
    for (const s of yaml.steps) {
      expect(s.entrypoint).toBe('bash');
      expect(s.args[0]).toBe('-c');
      const f = path.join(dir, `${i}-${s.id}.sh`);
      fs.writeFileSync(f, substitute(s.args[1], yaml.substitutions));
      files.push(f);
    }
  });
  const r = spawnSync('/usr/bin/shellcheck', ['-s', 'bash', '-S', 'style', ...files], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true });
  expect(r.stdout).toBe('');
  expect(r.status).toBe(0);
  expect(files).toHaveLength(8);
});

test('serviceAccount only when the config names one; no config value can smuggle a $', () => {
  expect(doc().yaml.serviceAccount).toBeUndefined();
  expect(doc(variants[1][1]).yaml.serviceAccount).toBe('projects/demo-project/serviceAccounts/cb@demo-project.iam.gserviceaccount.com');
  const b = builderFor();
  expect(() => renderCloudBuild({ ...b, instance: { ...b.instance, name: 'a$b' } }, { configHash: HASH })).toThrow(/contains '\$'/);
});

describe('the steps, run with bash against the stand-in gcloud/docker', () => {
  const stubs = path.resolve(__dirname, '../cli/stubs');
  const fastbin = path.resolve(__dirname, 'fastbin');
  let dir: string;
  let key: string;
  beforeAll(() => {
    const kd = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(kd, 'id')]);
    key = fs.readFileSync(path.join(kd, 'id'), 'utf8');
    fs.rmSync(kd, { recursive: true });
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-run-'));
    for (const d of ['stub', 'tmp', 'workspace', 'home']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'stub', 'ready_value'), HASH);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function runBuild(subs: Record<string, string>, port: number) {
    const { yaml } = doc({ docker: { port } });
    const all = { ...yaml.substitutions, ...subs };
    const results: Record<string, { code: number | null; out: string }> = {};
    for (const s of yaml.steps) {
      const env: NodeJS.ProcessEnv = {
        PATH: `${fastbin}:${stubs}:/usr/bin:/bin`,
        HOME: path.join(dir, 'home'),
        TMPDIR: path.join(dir, 'tmp'),
        STUB_DIR: path.join(dir, 'stub'),
      };
      for (const e of s.env ?? []) {
        const v = substitute(e, all);
        env[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
      }
      if (s.secretEnv) env.SSH_PRIVATE_KEY = key;
      // Cloud Build mounts the workspace at /workspace; here it is a temp dir.
      const script = substitute(s.args[1], all).replace(/\/workspace\//g, `${path.join(dir, 'workspace')}/`);
      const r = spawnSync('bash', ['-c', script], { env, encoding: 'utf8', timeout: 4000 });
      results[s.id] = { code: r.status, out: r.stdout + r.stderr };
    }
    const calls = fs.readFileSync(path.join(dir, 'stub', 'calls.log'), 'utf8').trim().split('\n');
    return { results, calls };
  }

  async function port(): Promise<number> {
    const net = await import('net');
    return new Promise((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
  }

  test('stopped VM: start, wait ready, IAP 4047 retried, two-node build pushed, VM stopped, key gone', async () => {
    fs.writeFileSync(path.join(dir, 'stub', 'instant_start'), '');
    fs.writeFileSync(path.join(dir, 'stub', 'iap_4047'), '1');
    const p = await port();
    const { results, calls } = await runBuild({ _IMAGE: 'us-docker.pkg.dev/demo-project/docker/web', _TAG: 'v7' }, p);
    expect(Object.values(results).map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(results.build.out).toContain('IAP cannot reach builder-arm64-2cpu yet (attempt 1)');
    expect(results.result.out).toContain('multi-arch build pushed');
    const at = '--zone=us-central1-a --project=demo-project';
    expect(calls.filter((c) => /instances (start|stop)/.test(c))).toEqual([
      `gcloud compute instances start builder-arm64-2cpu ${at} --async`,
      `gcloud compute instances stop builder-arm64-2cpu ${at} --async`,
    ]);
    expect(calls.filter((c) => c.startsWith('gcloud compute ssh'))).toHaveLength(2);
    expect(calls).toContain('gcloud auth configure-docker us-docker.pkg.dev --quiet');
    const B = 'cloudbuild-builder-arm64-2cpu';
    const STATE_TOML = path.join(dir, 'workspace', '.arm64-builder', 'buildkitd.toml');
    expect(fs.readFileSync(STATE_TOML, 'utf8')).toBe('[worker.oci]\n  gc = true\n  gckeepstorage = "20GB"\n');
    expect(calls.filter((c) => c.startsWith('docker buildx'))).toEqual([
      `docker buildx create --name ${B} --driver docker-container --buildkitd-config ${STATE_TOML} --platform linux/amd64 --node ${B}-amd64 default`,
      `docker buildx create --name ${B} --append --buildkitd-config ${STATE_TOML} --node ${B}-arm64 --platform linux/arm64 arm64-node`,
      `docker buildx inspect --bootstrap ${B}`,
      `docker buildx build --builder ${B} --platform linux/amd64,linux/arm64 --file Dockerfile --tag us-docker.pkg.dev/demo-project/docker/web:v7 --push .`,
    ]);
    expect(calls).toContain(`docker context create arm64-node --docker host=tcp://127.0.0.1:${p}`);
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    expect(Object.values(results).map((r) => r.out).join('')).not.toContain(key.split('\n')[1]);
  });

  test.each([
    ['the image build fails', 'build_fails', 'failed to solve'],
    ['IAP denies the tunnel (not retried)', 'iap_denied', "4033: 'not authorized'"],
  ])('%s: the VM is still stopped, then the build fails', async (_name, scenario, reason) => {
    fs.writeFileSync(path.join(dir, 'stub', 'instant_start'), '');
    fs.writeFileSync(path.join(dir, 'stub', scenario), '');
    const { results, calls } = await runBuild({}, await port());
    expect(results.build.code).toBe(0);
    expect(results.build.out).toContain(reason);
    expect(calls.filter((c) => c.startsWith('gcloud compute ssh'))).toHaveLength(1);
    expect(calls.filter((c) => c.includes('instances stop'))).toHaveLength(1);
    expect(results.result.code).toBe(1);
    expect(results.result.out).toContain('build failed in step build (exit 1)');
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });

  test('a VM that was already running is left running; _AUTO_START_STOP=false never starts one', async () => {
    fs.writeFileSync(path.join(dir, 'stub', 'status'), 'RUNNING');
    const a = await runBuild({}, await port());
    expect(a.results.result.code).toBe(0);
    expect(a.calls.filter((c) => /instances (start|stop)/.test(c))).toEqual([]);

    fs.writeFileSync(path.join(dir, 'stub', 'status'), 'TERMINATED');
    fs.rmSync(path.join(dir, 'workspace', '.arm64-builder'), { recursive: true });
    fs.rmSync(path.join(dir, 'stub', 'calls.log'));
    const b = await runBuild({ _AUTO_START_STOP: 'false' }, await port());
    expect(b.results['start-builder'].out).toContain('is TERMINATED and _AUTO_START_STOP is not true');
    expect(b.results.result.code).toBe(1);
    expect(b.calls.filter((c) => /instances (start|stop)|buildx build/.test(c))).toEqual([]);
  });

  test('defaults: image in the configured Artifact Registry', () => {
    expect(defaultSubstitutions(builderFor({ artifactRegistry: { location: 'europe', repositoryId: 'images' } }))._IMAGE).toBe(
      'europe-docker.pkg.dev/demo-project/images/app',
    );
  });
});
