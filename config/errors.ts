/**
 * Config errors: every problem names the field, the bad value and what is allowed, in one line each.
 */
import type { core } from 'zod';

export interface Problem {
  field: string;
  value: string;
  allowed: string;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: Problem[],
  ) {
    super(
      `invalid config (${source}):\n` +
        problems.map((p) => `  - ${p.field}: ${p.value} is not allowed: ${p.allowed}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Shows a value the way it was written (JSON), shortened so one line stays one line. */
export function showValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function fieldPath(prefix: string, p: PropertyKey[]): string {
  const parts = p.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
  return `${prefix}${parts.replace(/^\./, '')}` || '(top level)';
}

/** Turns one zod issue into a Problem. `prefix` is e.g. `builders[1].` in a multi-builder file. */
export function issueToProblem(issue: core.$ZodIssue, prefix: string): Problem {
  if (issue.code === 'unrecognized_keys') {
    return {
      field: fieldPath(prefix, issue.path),
      value: issue.keys.map((k) => `'${k}'`).join(', '),
      allowed: 'unknown field (check the spelling against the config reference in README.md)',
    };
  }
  let allowed = issue.message;
  // zod's own wording ("Invalid input: expected …") says less than ours; custom messages pass through.
  if (issue.code === 'invalid_type' && /^Invalid input/.test(issue.message)) allowed = `must be of type ${issue.expected}`;
  if (issue.code === 'invalid_key' && issue.issues[0]) allowed = issue.issues[0].message;
  return { field: fieldPath(prefix, issue.path), value: showValue(issue.input), allowed };
}
