import * as fs from 'fs';
import * as path from 'path';
import { synthesize } from '../main';
import { builder, synthTo, tempDir } from './helpers';
import { renderCloudBuild } from '../templates/cloudbuild';

const FIXTURES = path.join(__dirname, 'fixtures');


function files(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

const stackJson = (outdir: string, stack = 'builder-arm64-2cpu') =>
  fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8');

const defaultOut = synthTo();

describe('default synth (what `npm run synth` writes)', () => {
  it('matches the reviewed snapshot', () => {
    expect(stackJson(defaultOut)).toMatchSnapshot();
  });

  it('is byte-stable: no machine paths, same bytes from another directory', () => {
    const json = stackJson(defaultOut);
    // (/root appears legitimately: the VM's root user. The checkout and the synth directory must not.)
    for (const local of [path.dirname(defaultOut), process.cwd()]) expect(json).not.toContain(local);
    expect(stackJson(synthTo())).toBe(json);
    expect(fs.readFileSync(path.join(defaultOut, 'manifest.json'), 'utf8')).not.toContain(path.dirname(defaultOut));
  });

  it('keeps local state in the project root with a relative path, or in GCS when configured', () => {
    expect(JSON.parse(stackJson(defaultOut)).terraform.backend).toEqual({ local: { path: '../../../terraform.builder-arm64-2cpu.tfstate' } });
    const gcs = synthTo({ state: { gcsBucket: 'tf-state-bucket', gcsPrefix: 'builders' } });
    expect(JSON.parse(stackJson(gcs)).terraform.backend).toEqual({ gcs: { bucket: 'tf-state-bucket', prefix: 'builders/builder-arm64-2cpu' } });
  });

  it('writes the Cloud Build config for each stack next to the stacks', () => {
    const yaml = fs.readFileSync(path.join(defaultOut, 'cloudbuild.builder-arm64-2cpu.yaml'), 'utf8');
    expect(yaml).toBe(renderCloudBuild(builder()));
  });

  it('writes one stack per builder', () => {
    const out = synthTo({
      builders: [
        {},
        { instance: { name: 'builder-arm64-8cpu', machineType: 't2a-standard-8' }, serviceAccount: { accountId: 'builder-8cpu' }, sshKey: { privateKeySecretId: 'b8-priv', publicKeySecretId: 'b8-pub' }, network: { egress: 'none' } },
      ],
    });
    expect(fs.readdirSync(path.join(out, 'stacks')).sort()).toEqual(['builder-arm64-2cpu', 'builder-arm64-8cpu']);
    expect(JSON.parse(stackJson(out, 'builder-arm64-8cpu')).resource.google_compute_instance).toBeDefined();
  });

  it('replaces a previous cdktf.out whole and leaves no staging directories', () => {
    const out = synthTo();
    fs.writeFileSync(path.join(out, 'stale.txt'), 'old');
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(synthesize([], { CDKTF_OUTDIR: out })).toBe(0);
    write.mockRestore();
    expect(fs.existsSync(path.join(out, 'stale.txt'))).toBe(false);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['cdktf.out']);
  });
});

describe('secrets', () => {
  it('never puts key material into cdktf.out (generated key: only references)', () => {
    for (const f of files(defaultOut)) {
      const text = fs.readFileSync(f, 'utf8');
      expect(text).not.toMatch(/PRIVATE KEY|BEGIN OPENSSH/);
    }
    const outputs = JSON.parse(stackJson(defaultOut)).output as Record<string, { value: string }>;
    for (const o of Object.values(outputs)) expect(o.value).not.toMatch(/tls_private_key\.[^.]+\.private_key/);
  });

  it('with an external key, only the public key appears, and the private key file is never read', () => {
    const dir = tempDir();
    fs.copyFileSync(path.join(FIXTURES, 'id_ed25519.pub'), path.join(dir, 'id.pub'));
    const out = synthTo({ sshKey: { mode: 'external', publicKeyFile: path.join(dir, 'id.pub') } });
    const json = stackJson(out);
    expect(json).toContain('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm8p7nG1c3aQmR2Q0M7kqXb2sI0pJj0bQ3zq8v1eF1x');
    expect(json).not.toMatch(/tls_private_key|PRIVATE KEY/);
  });
});
