/**
 * Runs every policy rule on a synthesized stack and applies the config's waivers. synthesize() (main.ts) calls it
 * before anything is written: a failing rule without a waiver stops synth with exit code 3.
 */
import type { BuilderStack } from '../constructs/builder-stack';
import { POLICY_RULES, PolicyRuleId } from '../config/policy-rules';
import { CHECKS, Finding } from './rules';
import { resolvedStack, TfJson } from './terraform';

export type RuleStatus = 'pass' | 'waived' | 'fail';

export interface RuleResult {
  id: PolicyRuleId;
  title: string;
  status: RuleStatus;
  /** What failed (also kept when waived, so the report shows what the waiver covers). */
  findings: Finding[];
  notes: string[];
  fix: string;
  /** The written reason, when waived. */
  waiver?: string;
}

export interface PolicyReport {
  stack: string;
  results: RuleResult[];
  /** Waivers for rules that pass: they waive nothing and can go. */
  unusedWaivers: Array<{ rule: PolicyRuleId; reason: string }>;
  /** The resolved Terraform the rules read (the audit report reuses it). */
  tf: TfJson;
}

export const POLICY_EXIT_CODE = 3;

export function checkPolicy(stack: BuilderStack, tf: TfJson = resolvedStack(stack)): PolicyReport {
  const config = stack.config;
  const waivers = new Map(config.policy.waivers.map((w) => [w.rule, w.reason]));
  const results = POLICY_RULES.map((rule): RuleResult => {
    const { findings, notes } = CHECKS[rule.id]({ tf, config, stackName: config.stackName });
    const waiver = waivers.get(rule.id);
    const status: RuleStatus = findings.length === 0 ? 'pass' : waiver ? 'waived' : 'fail';
    return { id: rule.id, title: rule.title, status, findings, notes, fix: rule.fix, ...(status === 'waived' ? { waiver } : {}) };
  });
  const unusedWaivers = results
    .filter((r) => r.status === 'pass' && waivers.has(r.id))
    .map((r) => ({ rule: r.id, reason: waivers.get(r.id)! }));
  return { stack: config.stackName, results, unusedWaivers, tf };
}

export function failures(report: PolicyReport): RuleResult[] {
  return report.results.filter((r) => r.status === 'fail');
}

/** One line per failing resource: rule, resource, what, fix, how to waive. */
export function formatFailures(reports: PolicyReport[], waiverField = 'policy.waivers'): string {
  const lines: string[] = [];
  for (const report of reports) {
    const failed = failures(report);
    if (!failed.length) continue;
    lines.push(`policy check failed for stack ${report.stack} (${failed.length} of ${report.results.length} rules):`);
    for (const r of failed) {
      for (const f of r.findings) {
        lines.push(`  - policy ${r.id} failed on ${f.resource}: ${f.detail}. Fix: ${r.fix}. (waive with ${waiverField} + reason)`);
      }
    }
  }
  return lines.join('\n');
}
