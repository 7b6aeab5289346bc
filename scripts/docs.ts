/** `npm run docs`: regenerates the config reference section of README.md from the schema. */
import * as fs from 'fs';
import { withReference } from '../config/reference';

export function main(): number {
  const file = 'README.md';
  const before = fs.readFileSync(file, 'utf8');
  const after = withReference(before);
  if (after !== before) fs.writeFileSync(file, after);
  console.log(after === before ? 'README.md config reference is up to date' : 'README.md config reference regenerated');
  return 0;
}
