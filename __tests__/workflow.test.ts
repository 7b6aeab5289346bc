/**
 * The pull-request workflow is valid before GitHub ever runs it: it parses, has the jobs and steps docs/audit.md
 * describes, asks for no more permissions than each job needs, only runs npm scripts that exist, pins actions by
 * major version, and every `run:` block passes shellcheck.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { tempDir } from './helpers';

const ROOT = path.join(__dirname, '..');
const FILE = path.join(ROOT, '.github', 'workflows', 'pull-request.yml');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  if?: string;
}
interface Job {
  if?: string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const wf = parse(fs.readFileSync(FILE, 'utf8')) as Workflow;
const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const steps = Object.entries(wf.jobs).flatMap(([job, j]) => j.steps.map((s) => ({ job, ...s })));

describe('pull-request workflow', () => {
  it('runs on pull requests with a read-only default token', () => {
    expect(Object.keys(wf.on)).toEqual(['pull_request']);
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(Object.keys(wf.jobs)).toEqual(['check', 'comment', 'plan']);
  });

  it('every step either uses an action pinned by major version or runs a script', () => {
    for (const s of steps) {
      expect([s.job, s.name ?? s.uses, Boolean(s.uses) !== Boolean(s.run)]).toEqual([s.job, s.name ?? s.uses, true]);
      if (s.uses) expect(s.uses).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
    }
  });

  it('grants write access only where a job needs it', () => {
    expect(wf.jobs.check.permissions).toEqual({ contents: 'read' });
    expect(wf.jobs.comment.permissions).toEqual({ 'pull-requests': 'write' });
    expect(wf.jobs.plan.permissions).toEqual({ contents: 'read', 'id-token': 'write', 'pull-requests': 'write' });
    for (const [name, job] of Object.entries(wf.jobs)) {
      const comments = job.steps.some((s) => s.uses?.startsWith('actions/github-script@'));
      expect([name, job.permissions?.['pull-requests'] === 'write']).toEqual([name, comments]);
    }
  });

  it('installs, tests, synthesizes (JSON and HCL), uploads cdktf.out and the audit report, posts the summary', () => {
    const check = wf.jobs.check.steps;
    const runs = check.map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/npm ci[\s\S]*npm test[\s\S]*npm run synth\n[\s\S]*npm run synth:hcl/);
    expect(runs).toContain('"$GITHUB_STEP_SUMMARY"');
    const uploads = check.filter((s) => s.uses?.startsWith('actions/upload-artifact@')).map((s) => s.with?.path);
    expect(uploads).toEqual(expect.arrayContaining(['cdktf.out', 'cdktf.out/audit']));
    expect(wf.jobs.comment.needs).toBe('check');
    expect(JSON.stringify(wf.jobs.comment.steps)).toContain('audit/README.md');
  });

  it('plans only with workload identity federation configured, and posts the plan', () => {
    const plan = wf.jobs.plan;
    expect(plan.if).toContain("vars.GCP_WORKLOAD_IDENTITY_PROVIDER != ''");
    expect(plan.if).toContain("vars.GCP_SERVICE_ACCOUNT != ''");
    const auth = plan.steps.find((s) => s.uses?.startsWith('google-github-actions/auth@'));
    expect(auth?.with).toEqual({ workload_identity_provider: '${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}', service_account: '${{ vars.GCP_SERVICE_ACCOUNT }}' });
    expect(JSON.stringify(auth?.with)).not.toMatch(/credentials_json|secrets\./);
    const runs = plan.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/terraform -chdir="\$dir" plan /);
    expect(runs).not.toMatch(/terraform[^\n]* apply/);
    expect(plan.steps.some((s) => s.uses?.startsWith('actions/github-script@') && String(s.with?.script).includes('terraform-plans'))).toBe(true);
  });

  it('runs only npm scripts that package.json has', () => {
    const used = [...steps.map((s) => s.run ?? '').join('\n').matchAll(/npm run ([\w:.-]+)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect([name, name in scripts]).toEqual([name, true]);
  });

  it('every run block passes shellcheck (expressions replaced by placeholders)', () => {
    const dir = tempDir('builder-wf-');
    const files = steps
      .filter((s) => s.run)
      .map((s, i) => {
        const file = path.join(dir, `${i}-${s.job}.sh`);
        // GitHub runs `bash -e {0}`; ${{ … }} is substituted before the shell sees the text.
        fs.writeFileSync(file, `#!/usr/bin/env bash\nset -e\n${s.run!.replace(/\$\{\{[^}]*\}\}/g, 'GITHUB_EXPRESSION')}`);
        return file;
      });
    expect(files.length).toBeGreaterThanOrEqual(6);
    let output = '';
    try {
      execFileSync('shellcheck', ['--shell=bash', '--severity=style', ...files], { encoding: 'utf8' });
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe('');
  });
});
