/**
 * docs/audit.md's rule table, generated from the catalogue (config/policy-rules.ts): `npm run docs:audit` rewrites
 * the part between the markers, and a test fails when the two drift apart.
 */
import { POLICY_RULES } from '../config/policy-rules';

export const RULES_BEGIN = '<!-- policy-rules:begin (generated from config/policy-rules.ts by `npm run docs:audit`; do not edit) -->';
export const RULES_END = '<!-- policy-rules:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function ruleTable(): string {
  const rows = POLICY_RULES.map(
    (r) => `| \`${r.id}\` | ${cell(r.title)} | ${cell(r.rationale)} | ${cell(r.fix)} | ${r.equivalents.map(cell).join('<br>') || '—'} |`,
  );
  return ['| Rule | Checks | Why | Fix | Well-known equivalent |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** `markdown` with the generated table between the markers (which must be there). */
export function withRuleTable(markdown: string): string {
  const start = markdown.indexOf(RULES_BEGIN);
  const end = markdown.indexOf(RULES_END);
  if (start < 0 || end < start) throw new Error(`docs/audit.md lacks the markers ${RULES_BEGIN} … ${RULES_END}`);
  return `${markdown.slice(0, start + RULES_BEGIN.length)}\n${ruleTable()}\n${markdown.slice(end)}`;
}
