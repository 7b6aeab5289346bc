/**
 * `npm run docs`: regenerates README.md's generated sections: the config reference (from the schema) and the
 * everyday-use section (from docs/everyday-use.md, whose commands the CLI tests check against --help).
 */
import * as fs from 'fs';
import { replaceBetween, withReference } from '../config/reference';

export const EVERYDAY_START = '<!-- everyday-use:start (copied from docs/everyday-use.md by `npm run docs`; do not edit) -->';
export const EVERYDAY_END = '<!-- everyday-use:end -->';

export function withGeneratedSections(readme: string, everydayUse: string): string {
  return replaceBetween(withReference(readme), EVERYDAY_START, EVERYDAY_END, everydayUse.endsWith('\n') ? everydayUse : `${everydayUse}\n`);
}

export function main(): number {
  const file = 'README.md';
  const before = fs.readFileSync(file, 'utf8');
  const after = withGeneratedSections(before, fs.readFileSync('docs/everyday-use.md', 'utf8'));
  if (after !== before) fs.writeFileSync(file, after);
  console.log(after === before ? 'README.md generated sections are up to date' : 'README.md generated sections regenerated');
  return 0;
}
