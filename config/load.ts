/**
 * Loading: built-in defaults ← optional JSON file ← environment overrides, validated by the one schema.
 * A file may list several `builders`; each is merged over the file's top level and becomes its own stack.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BuilderConfig, builderSchema } from './schema';
import { ConfigError, issueToProblem, Problem } from './errors';
import { regionOf } from './facts';

/** A validated builder, plus what loading resolved (stack name, the external public key's text). */
export interface Builder extends BuilderConfig {
  stackName: string;
  /** Set with sshKey.mode 'external': the public key read from sshKey.publicKeyFile. */
  publicKey?: string;
}

export interface LoadOptions {
  /** Path of a JSON config file; default: $BUILDER_CONFIG, else none (built-in defaults). */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

type Json = Record<string, unknown>;

/** Environment variables for the fields people override most, and where they land. */
export const ENV_OVERRIDES: Record<string, { path: string[]; parse: (v: string) => unknown; doc: string }> = {
  BUILDER_PROJECT_ID: { path: ['projectId'], parse: String, doc: 'projectId' },
  BUILDER_ZONE: { path: ['zone'], parse: String, doc: 'zone' },
  BUILDER_INSTANCE_NAME: { path: ['instance', 'name'], parse: String, doc: 'instance.name' },
  BUILDER_MACHINE_TYPE: { path: ['instance', 'machineType'], parse: String, doc: 'instance.machineType' },
  BUILDER_SPOT: { path: ['instance', 'spot'], parse: parseBool, doc: 'instance.spot (true/false)' },
  BUILDER_CLOUD_BUILD_SA: { path: ['access', 'cloudBuildServiceAccount'], parse: String, doc: 'access.cloudBuildServiceAccount' },
  BUILDER_OPERATORS: { path: ['access', 'operators'], parse: parseList, doc: 'access.operators (comma-separated)' },
  BUILDER_STATE_BUCKET: { path: ['state', 'gcsBucket'], parse: String, doc: 'state.gcsBucket' },
};

function parseBool(v: string): unknown {
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  return v; // the schema reports it, naming the variable's field and value
}

function parseList(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars from `over` replace those in `base`. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(base[k]) ? deepMerge(base[k] as Json, v) : v;
  }
  return out;
}

function setPath(obj: Json, keys: string[], value: unknown): Json {
  const [head, ...rest] = keys;
  if (rest.length === 0) return { ...obj, [head]: value };
  const child = isObject(obj[head]) ? (obj[head] as Json) : {};
  return { ...obj, [head]: setPath(child, rest, value) };
}

function readJsonFile(file: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ field: 'config file', value: file, allowed: `a readable JSON file (${(e as NodeJS.ErrnoException).code})` }]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, [{ field: 'config file', value: file, allowed: `valid JSON (${(e as Error).message})` }]);
  }
  if (!isObject(parsed)) {
    throw new ConfigError(file, [{ field: 'config file', value: JSON.stringify(parsed), allowed: 'a JSON object' }]);
  }
  return parsed;
}

const SSH_PUBLIC_KEY = /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/=]+( [^\r\n]*)?$/;

function readPublicKey(file: string, field: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(file, [{ field, value: file, allowed: `a readable OpenSSH public key file (${(e as NodeJS.ErrnoException).code})` }]);
  }
  if (text.includes('PRIVATE KEY')) {
    // Never echo the content: it is a secret.
    throw new ConfigError(file, [{ field, value: file, allowed: 'the .pub half of the key pair; this file holds a PRIVATE key, keep it out of the config' }]);
  }
  if (!SSH_PUBLIC_KEY.test(text)) {
    throw new ConfigError(file, [{ field, value: file, allowed: "one OpenSSH ed25519 public key line ('ssh-ed25519 AAAAC3Nza… comment'), as ssh-keygen -t ed25519 writes it" }]);
  }
  return text;
}

function envOverrides(env: NodeJS.ProcessEnv): Json {
  let out: Json = {};
  for (const [name, o] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v !== undefined && v !== '') out = setPath(out, o.path, o.parse(v));
  }
  return out;
}

/** The key a stack is known by in errors: `builders[1]` in a multi-builder file, else the file itself. */
function label(index: number | undefined): string {
  return index === undefined ? '' : `builders[${index}].`;
}

function validateOne(raw: Json, index: number | undefined, source: string, baseDir: string): Builder {
  const result = builderSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(source, result.error.issues.map((i) => issueToProblem(i, label(index))));
  }
  const cfg = result.data;
  const stackName = cfg.stackName ?? cfg.instance.name;
  const builder: Builder = { ...cfg, stackName };
  if (cfg.sshKey.mode === 'external' && cfg.sshKey.publicKeyFile) {
    builder.publicKey = readPublicKey(path.resolve(baseDir, cfg.sshKey.publicKeyFile), `${label(index)}sshKey.publicKeyFile`);
  }
  return builder;
}

/** Two builders in one project must not fight over the same Google resource. */
function checkCollisions(builders: Builder[], source: string): void {
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  const claim = (i: number, key: string, field: string, value: string, what: string) => {
    const other = seen.get(key);
    if (other === undefined) seen.set(key, i);
    else problems.push({ field: `builders[${i}].${field}`, value, allowed: `a value not used by builders[${other}] (${what})` });
  };
  builders.forEach((b, i) => {
    claim(i, `stack:${b.stackName}`, 'stackName', b.stackName, 'stack names must be unique');
    claim(i, `vm:${b.projectId}/${b.zone}/${b.instance.name}`, 'instance.name', b.instance.name, 'one VM per name in a zone');
    claim(i, `sa:${b.projectId}/${b.serviceAccount.accountId}`, 'serviceAccount.accountId', b.serviceAccount.accountId, 'each builder stack owns its service account');
    claim(i, `secret:${b.projectId}/${b.sshKey.privateKeySecretId}`, 'sshKey.privateKeySecretId', b.sshKey.privateKeySecretId, 'each builder stack owns its key secrets');
    claim(i, `secret:${b.projectId}/${b.sshKey.publicKeySecretId}`, 'sshKey.publicKeySecretId', b.sshKey.publicKeySecretId, 'each builder stack owns its key secrets');
    if (b.network.egress === 'cloud-nat') {
      claim(i, `nat:${b.projectId}/${regionOf(b.zone)}/${b.network.name}`, 'network.egress', 'cloud-nat', "one Cloud NAT per network and region; set 'none' on the others");
    }
    if (b.artifactRegistry.create) {
      claim(i, `ar:${b.projectId}/${b.artifactRegistry.location}/${b.artifactRegistry.repositoryId}`, 'artifactRegistry.repositoryId', b.artifactRegistry.repositoryId, 'one stack creates a repository');
    }
  });
  if (problems.length) throw new ConfigError(source, problems);
}

/**
 * Loads and validates every builder. Throws ConfigError (never a half-validated config): callers print
 * `err.message` and exit non-zero before anything is written.
 */
export function loadConfig(options: LoadOptions = {}): Builder[] {
  const env = options.env ?? process.env;
  const file = options.file ?? (env.BUILDER_CONFIG || undefined);
  const source = file ?? 'built-in defaults';
  const doc = file ? readJsonFile(file) : {};
  const baseDir = file ? path.dirname(path.resolve(file)) : process.cwd();
  const overrides = envOverrides(env);

  const { builders, ...shared } = doc;
  if (builders === undefined) {
    return [validateOne(deepMerge(shared, overrides), undefined, source, baseDir)];
  }
  if (!Array.isArray(builders) || builders.length === 0 || !builders.every(isObject)) {
    throw new ConfigError(source, [{ field: 'builders', value: JSON.stringify(builders), allowed: 'a non-empty array of builder objects' }]);
  }
  const list = builders.map((b, i) => validateOne(deepMerge(deepMerge(shared, b as Json), overrides), i, source, baseDir));
  checkCollisions(list, source);
  return list;
}

