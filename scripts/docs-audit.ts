/** `npm run docs:audit`: regenerates the rule table in docs/audit.md from config/policy-rules.ts. */
import * as fs from 'fs';
import { withRuleTable } from '../audit/docs';

export function main(): number {
  const file = 'docs/audit.md';
  const before = fs.readFileSync(file, 'utf8');
  const after = withRuleTable(before);
  if (after !== before) fs.writeFileSync(file, after);
  console.log(after === before ? `${file} rule table is up to date` : `${file} rule table regenerated`);
  return 0;
}
