/**
 * The one render module for everything shell- or YAML-shaped (boot script, cloud-config, cloudbuild.yaml).
 * Handlebars runs with `strict` (a missing variable is an error, not an empty string) and `noEscape` (no HTML
 * entities in shell). Every interpolated value must go through a quoting helper: `q` for shell, `y` for YAML.
 * A test enforces that no template interpolates a bare value.
 */
import * as fs from 'fs';
import * as path from 'path';
import Handlebars from 'handlebars';

// Resolved from the package root, so the same code works from templates/ and from the bundle in dist/.
export const TEMPLATE_DIR = path.resolve(__dirname, '..', 'templates');
const PARTIALS_DIR = path.join(TEMPLATE_DIR, 'partials');

/** POSIX shell single-quoting: safe for any value, including quotes, `$`, backticks and newlines. */
export function shellQuote(value: unknown): string {
  if (value === undefined || value === null || typeof value === 'object') {
    throw new Error(`shell-quote: expected a string, number or boolean, got ${JSON.stringify(value)}`);
  }
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** YAML double-quoted scalar (JSON strings are valid YAML): safe for `:`, `#`, quotes and leading `*`/`&`. */
export function yamlQuote(value: unknown): string {
  if (value === undefined || value === null || typeof value === 'object') {
    throw new Error(`yaml-quote: expected a string, number or boolean, got ${JSON.stringify(value)}`);
  }
  return JSON.stringify(String(value));
}

let env: typeof Handlebars | undefined;

/** One Handlebars environment, with the partials under templates/partials registered by file name. */
function handlebars(): typeof Handlebars {
  if (env) return env;
  const hb = Handlebars.create();
  // `strict` does not cover helper arguments, so the helpers refuse a missing value themselves, with its place.
  type Located = { name: string; loc?: { start: { line: number; column: number } } };
  const guarded = (quote: (v: unknown) => string) => (value: unknown, options: Handlebars.HelperOptions) => {
    if (value === undefined) {
      const { name, loc } = options as unknown as Located;
      throw new Error(`a variable passed to '${name}' is not defined (line ${loc?.start.line}, column ${loc?.start.column})`);
    }
    return quote(value);
  };
  hb.registerHelper('q', guarded(shellQuote));
  hb.registerHelper('y', guarded(yamlQuote));
  // Indents every line of a block (used to embed files in YAML block scalars).
  hb.registerHelper('indent', function (this: unknown, spaces: number, options: Handlebars.HelperOptions) {
    const pad = ' '.repeat(spaces);
    return options
      .fn(this)
      .split('\n')
      .map((line) => (line ? pad + line : line))
      .join('\n');
  });
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  for (const file of fs.readdirSync(PARTIALS_DIR)) {
    if (file.endsWith('.hbs')) {
      hb.registerPartial(file.replace(/\.hbs$/, ''), fs.readFileSync(path.join(PARTIALS_DIR, file), 'utf8'));
    }
  }
  env = hb;
  return hb;
}

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/** Renders templates/<name>.hbs with `data`. Throws on any variable the data lacks. */
export function render(name: string, data: object): string {
  let template = compiled.get(name);
  if (!template) {
    const source = fs.readFileSync(path.join(TEMPLATE_DIR, `${name}.hbs`), 'utf8');
    template = handlebars().compile(source, { strict: true, noEscape: true });
    compiled.set(name, template);
  }
  try {
    return template(data);
  } catch (e) {
    throw new Error(`rendering templates/${name}.hbs: ${(e as Error).message}`);
  }
}

/**
 * Terraform interpolates `${…}` and `%{…}` in every string. Text that must reach the VM byte for byte
 * (scripts, cloud-config) is escaped to `$${…}` / `%%{…}`, which Terraform turns back into the literal.
 */
export function escapeForTerraform(text: string): string {
  // Function replacements: in a replacement *string*, `$$` would itself collapse to `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}
