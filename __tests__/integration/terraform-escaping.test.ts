/**
 * Terraform interpolates `${…}` and `%{…}` in every string, and no offline validator notices a shell variable
 * turned into a Terraform expression. Here Terraform itself (terraform console, offline) evaluates the boot
 * config exactly as synth wrote it into cdk.tf.json, and the result must be the rendered script byte for byte.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { builder, synthTo, tempDir } from '../helpers';
import { renderBoot } from '../../templates/boot';


describe('Terraform interpolation', () => {
  const TFRC = path.join(tempDir(), 'empty.tfrc');
  fs.writeFileSync(TFRC, '');

  /** What Terraform itself makes of a string from cdk.tf.json (terraform console evaluates locals offline). */
  function terraformValue(value: string): string {
    const dir = tempDir('builder-tf-');
    fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ locals: { v: value } }));
    const out = execFileSync('terraform', ['console'], {
      cwd: dir,
      input: 'base64encode(local.v)\n',
      env: { ...process.env, TF_CLI_CONFIG_FILE: TFRC, CHECKPOINT_DISABLE: '1' },
      encoding: 'utf8',
    });
    return Buffer.from(JSON.parse(out.trim()), 'base64').toString('utf8');
  }

  it.each([
    ['startup-script', {}],
    ['user-data', { instance: { image: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-arm64' } }],
  ])('the %s reaches the VM byte for byte, ${…} and %%{…} included', (key, config) => {
    const tf = fs.readFileSync(path.join(synthTo(config), 'stacks', 'builder-arm64-2cpu', 'cdk.tf.json'), 'utf8');
    const vm = Object.values(JSON.parse(tf).resource.google_compute_instance)[0] as { metadata: Record<string, string> };
    const expected = renderBoot(builder(config)).content;
    expect(expected).toMatch(/\$\{/); // the check means something only if the script has shell expansions
    expect(terraformValue(vm.metadata[key])).toBe(expected);
  });
});
