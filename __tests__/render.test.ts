import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { escapeForTerraform, render, shellQuote, TEMPLATE_DIR, yamlQuote } from '../templates/render';

const NASTY = ["it's", '$(touch /tmp/pwned)', '`id`', 'a\nb', '${HOME}', '%{ if x }', 'tab\there', '"double"', '* & !', '', '#comment: yes'];

function templateFiles(dir = TEMPLATE_DIR): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? templateFiles(path.join(dir, e.name)) : e.name.endsWith('.hbs') ? [path.join(dir, e.name)] : [],
  );
}

describe('quoting helpers', () => {
  it.each(NASTY)('shellQuote(%j) survives bash unchanged', (value) => {
    expect(execFileSync('bash', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' })).toBe(value);
  });

  it.each(NASTY)('yamlQuote(%j) survives a YAML parser unchanged', (value) => {
    expect(parse(`key: ${yamlQuote(value)}`)).toEqual({ key: value });
  });

  it('refuse objects and missing values instead of printing [object Object] or nothing', () => {
    expect(() => shellQuote(undefined)).toThrow(/expected a string/);
    expect(() => yamlQuote({ a: 1 })).toThrow(/expected a string/);
  });
});

describe('templates', () => {
  it('exist, and every interpolation goes through a quoting helper (q for shell, y for YAML)', () => {
    const files = templateFiles();
    expect(files.length).toBeGreaterThanOrEqual(2);
    const allowed = /^\{\{(~?)(q |y |> |#|\/|else|!|\^)/;
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      expect([file, text.includes('{{{')]).toEqual([file, false]);
      // `\{{` is Handlebars' escape for a literal `{{` (Go templates in docker --format): not an interpolation.
      for (const m of text.matchAll(/(?<!\\)\{\{[^}]*\}\}/g)) expect([file, m[0], allowed.test(m[0])]).toEqual([file, m[0], true]);
    }
  });

  it('fail on a missing variable (strict) and never HTML-escape (noEscape)', () => {
    expect(() => render('startup-script.sh', {})).toThrow(/rendering templates\/startup-script.sh.hbs: .*not defined \(line \d+/);
    // A throwaway template beside the real ones (render reads from templates/ only).
    const dir = fs.mkdtempSync(path.join(TEMPLATE_DIR, '.probe-'));
    const name = path.basename(dir);
    try {
      fs.writeFileSync(path.join(dir, 'x.hbs'), '{{#if a}}{{q a}}{{/if}}{{missing}}');
      expect(() => render(`${name}/x`, { a: 'v' })).toThrow(/"missing" not defined/);
      fs.writeFileSync(path.join(dir, 'y.hbs'), '{{q a}} <&>');
      expect(render(`${name}/y`, { a: '<b>&' })).toBe("'<b>&' <&>");
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe('escapeForTerraform', () => {
  it('escapes both interpolation and directive openers, and nothing else', () => {
    expect(escapeForTerraform('a ${X} %{ if } $$ %% $x %s')).toBe('a $${X} %%{ if } $$ %% $x %s');
  });
});
