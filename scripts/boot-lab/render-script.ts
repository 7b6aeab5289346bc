/**
 * Renders a boot script for the lab scripts (qemu-boot.sh): the same renderBoot the stack uses.
 *   node -r ./scripts/ts-register.js scripts/boot-lab/render-script.ts OUT_FILE [CONFIG_JSON] [OVERRIDES_JSON]
 * Writes the script to OUT_FILE and prints its config hash.
 */
import * as fs from 'fs';
import { builderSchema } from '../../config/schema';
import { renderBoot } from '../../templates/boot';

const [out, configJson = '{}', overridesJson = '{}'] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: render-script.ts OUT_FILE [CONFIG_JSON] [OVERRIDES_JSON]\n');
  process.exit(2);
}
const rendered = renderBoot(builderSchema.parse(JSON.parse(configJson)), JSON.parse(overridesJson));
fs.writeFileSync(out, rendered.content, { mode: 0o755 });
process.stdout.write(`${rendered.configHash}\n`);
