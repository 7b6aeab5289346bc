/**
 * What really deploys: a stack's resolved Terraform JSON (the same object cdktf writes to cdk.tf.json), read
 * without writing files, plus the small helpers the policy rules and the audit report share.
 */
import type { TerraformStack } from 'cdktf';

export type TfBlock = Record<string, unknown>;
export interface TfJson {
  resource?: Record<string, Record<string, TfBlock>>;
  data?: Record<string, Record<string, TfBlock>>;
  [key: string]: unknown;
}

/** One resource (or data source) of the synthesized stack. */
export interface TfResource {
  /** `google_compute_firewall.iap-firewall_allow-iap-ssh_A5D5FD1B` (data sources: `data.TYPE.ID`). */
  address: string;
  type: string;
  id: string;
  /** Construct path below the stack (`iap-firewall/allow-iap-ssh`), when cdktf recorded it. */
  path: string;
  body: TfBlock;
}

/**
 * The resolved Terraform JSON of a stack, as `cdktf synth` would write it (tokens resolved, `//` metadata kept for
 * construct paths). A deep copy: nothing the checks do can touch the stack.
 */
export function resolvedStack(stack: TerraformStack): TfJson {
  return JSON.parse(JSON.stringify(stack.toTerraform())) as TfJson;
}

function metaPath(body: TfBlock, stackName: string): string {
  const meta = (body['//'] as { metadata?: { path?: string } } | undefined)?.metadata;
  const p = meta?.path ?? '';
  return p.startsWith(`${stackName}/`) ? p.slice(stackName.length + 1) : p;
}

/** Every resource, sorted by address (deterministic reports). */
export function resourcesOf(tf: TfJson, stackName = ''): TfResource[] {
  const out: TfResource[] = [];
  for (const [type, byId] of Object.entries(tf.resource ?? {})) {
    for (const [id, body] of Object.entries(byId)) out.push({ address: `${type}.${id}`, type, id, path: metaPath(body, stackName), body });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

export function dataSourcesOf(tf: TfJson, stackName = ''): TfResource[] {
  const out: TfResource[] = [];
  for (const [type, byId] of Object.entries(tf.data ?? {})) {
    for (const [id, body] of Object.entries(byId)) out.push({ address: `data.${type}.${id}`, type, id, path: metaPath(body, stackName), body });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

export function ofType(tf: TfJson, ...types: string[]): TfResource[] {
  return resourcesOf(tf).filter((r) => types.includes(r.type));
}

/** A block that may be written once (object) or repeated (array), as a list. */
export function blocks(v: unknown): TfBlock[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.filter((x): x is TfBlock => typeof x === 'object' && x !== null);
  return typeof v === 'object' ? [v as TfBlock] : [];
}

export function strings(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** Terraform's idea of true: a boolean, or the string 'true'/'TRUE' (instance metadata is strings). */
export function truthy(v: unknown): boolean {
  return v === true || (typeof v === 'string' && /^\s*true\s*$/i.test(v));
}

/** The resource's own name-ish attribute, for messages people can match to the console. */
export function displayName(body: TfBlock): string | undefined {
  for (const key of ['name', 'account_id', 'secret_id', 'role_id', 'repository_id', 'service', 'instance_name']) {
    const v = body[key];
    if (typeof v === 'string' && v && !v.includes('${')) return v;
  }
  return undefined;
}

/** `google_compute_firewall.x (name)`: how messages and reports name a resource. */
export function label(r: TfResource): string {
  const name = displayName(r.body);
  return name ? `${r.address} (${name})` : r.address;
}

/** A Terraform string as the program receiving it sees it: `$${` and `%%{` are escapes for literal `${` / `%{`. */
export function unescapeTerraform(s: string): string {
  return s.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}

const REF = /\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}/g;

function lookup(tf: TfJson, isData: boolean, type: string, id: string): TfBlock | undefined {
  return (isData ? tf.data : tf.resource)?.[type]?.[id];
}

/**
 * Replaces references to the stack's own resources with what people call them: a service account's email, a
 * custom role's `projects/P/roles/ID`, a secret's id, the VM's name, `PROJECT_NUMBER`. Unknown references stay.
 */
export function readable(value: unknown, tf: TfJson): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.replace(REF, (whole, data: string | undefined, type: string, id: string, attr: string) => {
    const body = lookup(tf, Boolean(data), type, id);
    if (!body) return whole;
    const project = typeof body.project === 'string' ? body.project : 'PROJECT';
    switch (type) {
      case 'google_service_account': {
        const email = `${String(body.account_id)}@${project}.iam.gserviceaccount.com`;
        if (attr === 'member') return `serviceAccount:${email}`;
        return email; // email, name, id: the account people recognise
      }
      case 'google_project_iam_custom_role':
        return `projects/${project}/roles/${String(body.role_id)}`;
      case 'google_secret_manager_secret':
        return String(body.secret_id);
      case 'google_compute_instance':
        return String(body.name);
      case 'google_artifact_registry_repository':
        return String(body.repository_id);
      case 'google_project':
        return attr === 'number' ? 'PROJECT_NUMBER' : whole;
      default:
        return whole;
    }
  });
}

/** The custom role a `${google_project_iam_custom_role.X.name|id}` reference points at, if any. */
export function customRoleOf(role: string, tf: TfJson): TfBlock | undefined {
  const m = /^\$\{google_project_iam_custom_role\.([A-Za-z0-9_-]+)\.(name|id)\}$/.exec(role);
  return m ? tf.resource?.google_project_iam_custom_role?.[m[1]] : undefined;
}

/** One IAM grant, as written in the Terraform (member/role possibly references). */
export interface TfGrant {
  resource: TfResource;
  /** project, folder, organization, instance, secret, service-account, repository, … */
  scope: string;
  /** The resource the grant is on (literal or reference). */
  on: string;
  role: string;
  member: string;
  /** The member as written in the Terraform (a reference until apply). */
  rawMember: string;
}

const SCOPE_OF: Array<[RegExp, string, string[]]> = [
  [/^google_project_iam_/, 'project', ['project']],
  [/^google_folder_iam_/, 'folder', ['folder']],
  [/^google_organization_iam_/, 'organization', ['org_id']],
  [/^google_compute_instance_iam_/, 'instance', ['instance_name']],
  [/^google_iap_tunnel_instance_iam_/, 'instance', ['instance']],
  [/^google_secret_manager_secret_iam_/, 'secret', ['secret_id']],
  [/^google_service_account_iam_/, 'service-account', ['service_account_id']],
  [/^google_artifact_registry_repository_iam_/, 'repository', ['repository']],
  [/^google_storage_bucket_iam_/, 'bucket', ['bucket']],
];

function policyBindings(body: TfBlock, tf: TfJson): Array<{ role: string; members: string[] }> {
  const data = body.policy_data;
  if (typeof data !== 'string') return [];
  const ref = /^\$\{data\.google_iam_policy\.([A-Za-z0-9_-]+)\.policy_data\}$/.exec(data);
  if (ref) {
    const policy = tf.data?.google_iam_policy?.[ref[1]];
    return blocks(policy?.binding).map((b) => ({ role: String(b.role), members: strings(b.members) }));
  }
  try {
    const parsed = JSON.parse(data) as { bindings?: Array<{ role: string; members: string[] }> };
    return (parsed.bindings ?? []).map((b) => ({ role: String(b.role), members: strings(b.members) }));
  } catch {
    return [{ role: '(unparseable policy_data)', members: [data] }];
  }
}

/** Every IAM grant in the stack: *_iam_member, *_iam_binding and *_iam_policy resources, one entry per member. */
export function grantsOf(tf: TfJson, stackName = ''): TfGrant[] {
  const out: TfGrant[] = [];
  for (const r of resourcesOf(tf, stackName)) {
    const m = /_iam_(member|binding|policy)$/.exec(r.type);
    if (!m) continue;
    const scopeEntry = SCOPE_OF.find(([re]) => re.test(r.type));
    const scope = scopeEntry?.[1] ?? r.type.replace(/^google_/, '').replace(/_iam_(member|binding|policy)$/, '');
    const onKey = scopeEntry?.[2].find((k) => r.body[k] !== undefined);
    const on = readable(onKey ? r.body[onKey] : '(provider default)', tf);
    const push = (role: string, rawMember: string) =>
      out.push({ resource: r, scope, on, role, member: readable(rawMember, tf), rawMember });
    if (m[1] === 'member') push(String(r.body.role), String(r.body.member));
    else if (m[1] === 'binding') for (const member of strings(r.body.members)) push(String(r.body.role), member);
    else for (const b of policyBindings(r.body, tf)) for (const member of b.members) push(b.role, member);
  }
  return out;
}

/** IPv4 CIDR → [network, prefix]; undefined for anything else (IPv6, references, typos). */
export function parseCidr(cidr: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr.trim());
  if (!m) return undefined;
  const o = m.slice(1, 5).map(Number);
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  if (o.some((x) => x > 255) || prefix > 32) return undefined;
  return [((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0, prefix];
}

/** True when every address of `inner` lies inside `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  if (!a || !b || a[1] < b[1]) return false;
  const mask = b[1] === 0 ? 0 : (0xffffffff << (32 - b[1])) >>> 0;
  return ((a[0] & mask) >>> 0) === ((b[0] & mask) >>> 0);
}

/** Does a firewall `ports` list (absent: every port) include `port`? Entries are "22" or "20-30". */
export function portsInclude(ports: string[], port: number): boolean {
  if (ports.length === 0) return true;
  return ports.some((p) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(p.trim());
    if (!m) return true; // a reference: assume the worst
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    return port >= lo && port <= hi;
  });
}
