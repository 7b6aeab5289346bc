import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { withGeneratedSections } from '../scripts/docs';
import { loadConfig } from '../config/load';
import { BuilderStack } from '../constructs/builder-stack';

const ROOT = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

describe('README', () => {
  it('carries the config reference from the schema and the everyday-use section from docs/ (`npm run docs`)', () => {
    expect(readme).toBe(withGeneratedSections(readme, fs.readFileSync(path.join(ROOT, 'docs/everyday-use.md'), 'utf8')));
    expect(readme).toContain('npm run builder -- connect');
  });

  it('gives the two set-up commands, and .ci/run runs the test one', () => {
    expect(readme).toContain('npm ci && npm run synth');
    expect(readme).toContain('npm ci && npm test');
    const ci = fs.readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npm test$/m);
  });

  const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.json'));
  it('links every example it names, and every example exists', () => {
    const named = [...readme.matchAll(/examples\/([\w-]+\.json)/g)].map((m) => m[1]);
    expect(new Set(named)).toEqual(new Set(examples));
  });

  it.each(examples)('example %s validates and synthesizes', (file) => {
    const builders = loadConfig({ file: path.join(ROOT, 'examples', file), env: {} });
    for (const b of builders) {
      const tf = JSON.parse(Testing.synth(new BuilderStack(Testing.app(), b)));
      expect(Object.keys(tf.resource.google_compute_instance)).toHaveLength(1);
    }
  });
});
