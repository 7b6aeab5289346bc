/**
 * `npm run synth:hcl` (cdktf synth --hcl) writes HCL that Terraform parses. `terraform fmt` needs no providers and
 * no network: it parses each file and exits non-zero on a syntax error. It runs the cdktf CLI (seconds), hence this
 * tier (jest -c jest.integration.config.js).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const ENV = { ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' };

/** Exit code of `terraform fmt -` on the file's text (0: it parses). */
function terraformFmt(text: string): { status: number | null; stderr: string } {
  const r = spawnSync('terraform', ['fmt', '-no-color', '-'], { input: text, env: ENV, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('npm run synth:hcl', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'builder-hcl-'));
  const out = path.join(dir, 'cdktf.hcl');
  let log = '';

  beforeAll(() => {
    const config = path.join(dir, 'builder.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        builders: [
          {},
          {
            instance: { name: 'builder-ubuntu', image: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-arm64' },
            serviceAccount: { accountId: 'builder-ubuntu' },
            sshKey: { privateKeySecretId: 'u-priv', publicKeySecretId: 'u-pub' },
            network: { egress: 'none' },
          },
        ],
      }),
    );
    // The same command as the package.json script, with an output directory of its own.
    log = execFileSync('npx', ['--no-install', 'cdktf', 'synth', '--hcl', '--output', out], {
      cwd: ROOT,
      env: { ...ENV, BUILDER_CONFIG: config },
      encoding: 'utf8',
    });
  });

  it('writes one cdk.tf per stack, plus the audit report', () => {
    expect(log).toContain('builder-arm64-2cpu');
    expect(fs.readdirSync(path.join(out, 'stacks')).sort()).toEqual(['builder-arm64-2cpu', 'builder-ubuntu']);
    expect(fs.readdirSync(path.join(out, 'audit')).sort()).toEqual([
      'README.md',
      'builder-arm64-2cpu.json',
      'builder-arm64-2cpu.md',
      'builder-ubuntu.json',
      'builder-ubuntu.md',
    ]);
  });

  it.each(['builder-arm64-2cpu', 'builder-ubuntu'])('the HCL of %s parses (terraform fmt) and holds the whole stack', (stack) => {
    const hcl = fs.readFileSync(path.join(out, 'stacks', stack, 'cdk.tf'), 'utf8');
    const fmt = terraformFmt(hcl);
    expect([fmt.status, fmt.stderr]).toEqual([0, '']);
    expect(hcl).toMatch(/resource "google_compute_instance" "builder_vm_[0-9A-F]{8}"/);
    expect(hcl).toMatch(/resource "google_compute_firewall" "iap-firewall_allow-iap-ssh_[0-9A-F]{8}"/);
    expect(hcl).toMatch(/block-project-ssh-keys\s+= "TRUE"/);
  });

  it('the check means something: broken HCL does not parse', () => {
    const hcl = fs.readFileSync(path.join(out, 'stacks', 'builder-arm64-2cpu', 'cdk.tf'), 'utf8');
    expect(terraformFmt(hcl.replace(/\}\s*$/, '')).status).not.toBe(0);
  });
});
