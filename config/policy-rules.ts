/**
 * The policy rule catalogue: pure data. The checks live in policy/, the waiver schema in config/schema.ts reads the
 * ids from here, and docs/audit.md's rule table is generated from it (`npm run docs:audit`; a test keeps them equal).
 *
 * `equivalents` names the well-known scanner checks each rule corresponds to (checkov ids, trivy check names).
 * They are indicative: checkov and trivy cannot run here, so the mapping was made by reading their rule titles.
 */

export const POLICY_RULE_IDS = [
  'ssh-from-iap-only',
  'no-project-sa-impersonation',
  'no-basic-or-admin-project-roles',
  'no-default-compute-sa',
  'block-project-ssh-keys',
  'serial-port-disabled',
  'no-ip-forwarding',
  'shielded-vm',
  'no-public-ip',
  'secret-accessor-scoped',
  'docker-listener-loopback-or-tls',
  'sshd-root-key-only',
] as const;

export type PolicyRuleId = (typeof POLICY_RULE_IDS)[number];

export interface PolicyRule {
  id: PolicyRuleId;
  /** One line: what must hold. */
  title: string;
  /** One line: why it matters. */
  rationale: string;
  /** One line: how to make the rule pass. */
  fix: string;
  /** Well-known scanner checks with the same intent (checkov ids, trivy check names). */
  equivalents: string[];
  /** What the rule reads: Terraform resource types, or `boot config` for the rendered VM boot configuration. */
  inspects: string[];
}

const PROJECT_IAM = ['google_project_iam_member', 'google_project_iam_binding', 'google_project_iam_policy', 'folder/organization IAM'];

export const POLICY_RULES: readonly PolicyRule[] = [
  {
    id: 'ssh-from-iap-only',
    title: 'SSH (tcp:22) and the Docker API ports are reachable only from the IAP range 35.235.240.0/20',
    rationale: 'An allow rule from anywhere else (0.0.0.0/0 above all) puts sshd or an unauthenticated Docker API on the internet.',
    fix: 'Allow tcp:22 only from 35.235.240.0/20 (network.iapSourceRanges) and never open 2375/2376; reach the builder with an IAP tunnel',
    equivalents: ['CKV_GCP_2', 'trivy google-compute-no-public-ingress'],
    inspects: ['google_compute_firewall'],
  },
  {
    id: 'no-project-sa-impersonation',
    title: 'No project-wide Service Account User or Token Creator (nor a custom role with actAs/getAccessToken)',
    rationale: 'Granted on the project, these let the member act as every service account in it, including ones far more privileged than the builder.',
    fix: 'Grant roles/iam.serviceAccountUser on the one service account (google_service_account_iam_member), as BuilderAccess does',
    equivalents: ['CKV_GCP_41', 'CKV_GCP_49', 'trivy google-iam-no-project-level-service-account-impersonation'],
    inspects: PROJECT_IAM,
  },
  {
    id: 'no-basic-or-admin-project-roles',
    title: 'No basic roles (owner, editor, viewer) on the project, and no *Admin project roles for service accounts',
    rationale: 'Basic roles grant thousands of permissions; an admin role on a service account turns one leaked VM token into project control.',
    fix: 'Use a predefined or custom role scoped to the resource the member needs (see constructs/builder-access.ts)',
    equivalents: ['CKV_GCP_117', 'CKV_GCP_42', 'trivy google-iam-no-privileged-service-accounts'],
    inspects: PROJECT_IAM,
  },
  {
    id: 'no-default-compute-sa',
    title: 'The VM does not run as the default Compute Engine service account',
    rationale: 'The default account (PROJECT_NUMBER-compute@developer) usually holds Editor: every process on the VM would too.',
    fix: 'Run the VM as its own service account (serviceAccount.accountId) holding only Artifact Registry Writer',
    equivalents: ['CKV_GCP_30', 'trivy google-compute-no-default-service-account'],
    inspects: ['google_compute_instance', 'google_compute_instance_template'],
  },
  {
    id: 'block-project-ssh-keys',
    title: "Instance metadata sets block-project-ssh-keys=TRUE",
    rationale: 'Otherwise every key in project metadata (any admin, any old key) can log in to the builder as root.',
    fix: "Set metadata 'block-project-ssh-keys' to 'TRUE' (BuilderInstance does); put the builder key in instance metadata",
    equivalents: ['CKV_GCP_32', 'trivy google-compute-no-project-wide-ssh-keys'],
    inspects: ['google_compute_instance', 'google_compute_instance_template'],
  },
  {
    id: 'serial-port-disabled',
    title: 'The interactive serial console is off (serial-port-enable is not TRUE)',
    rationale: 'The serial console is a login path that bypasses the firewall and IAP.',
    fix: "Set metadata 'serial-port-enable' to 'FALSE' or leave it unset",
    equivalents: ['CKV_GCP_35', 'trivy google-compute-no-serial-port'],
    inspects: ['google_compute_instance', 'google_compute_instance_template'],
  },
  {
    id: 'no-ip-forwarding',
    title: 'The VM does not forward IP packets (can_ip_forward is false)',
    rationale: 'A forwarding VM can route traffic for others and spoof source addresses; a build node never needs it.',
    fix: 'Set canIpForward: false on the instance',
    equivalents: ['CKV_GCP_36', 'trivy google-compute-no-ip-forwarding'],
    inspects: ['google_compute_instance', 'google_compute_instance_template'],
  },
  {
    id: 'shielded-vm',
    title: 'Shielded VM (Secure Boot, vTPM, integrity monitoring) where the machine family supports it',
    rationale: 'Secure Boot and measured boot stop and reveal boot-level rootkits on a VM that runs arbitrary build steps as root.',
    fix: 'Set instance.shieldedVm: true (the default) and use a UEFI image (the Debian/Ubuntu arm64 families are)',
    equivalents: ['CKV_GCP_39', 'trivy google-compute-enable-shielded-vm-sb', 'trivy google-compute-enable-shielded-vm-vtpm', 'trivy google-compute-enable-shielded-vm-im'],
    inspects: ['google_compute_instance', 'google_compute_instance_template'],
  },
  {
    id: 'no-public-ip',
    title: "The VM has no external IP unless the config opts in (network.egress: 'public-ip')",
    rationale: 'An external IP makes the VM reachable from the internet wherever a firewall rule allows; IAP and Cloud NAT need none.',
    fix: "Use network.egress 'cloud-nat' (default) or 'none'; remove access_config from other instances",
    equivalents: ['CKV_GCP_40', 'trivy google-compute-no-public-ip'],
    inspects: ['google_compute_instance', 'google_compute_instance_template'],
  },
  {
    id: 'secret-accessor-scoped',
    title: 'Secret Manager access is granted on the secret, never on the project',
    rationale: 'secretAccessor on the project reads every secret in it, not just the builder key.',
    fix: 'Grant roles/secretmanager.secretAccessor with google_secret_manager_secret_iam_member on the one secret',
    equivalents: [],
    inspects: PROJECT_IAM,
  },
  {
    id: 'docker-listener-loopback-or-tls',
    title: "dockerd's TCP listener is on loopback (reached through the SSH tunnel) unless it has TLS client auth",
    rationale: 'A plain-TCP Docker API on a network address is root on the VM for anyone who can reach the port.',
    fix: "Keep docker.tcpListener 'loopback' (default) or 'none'; use 'tls' (--tlsverify, client certificates) for a network listener",
    equivalents: ['CIS Docker Benchmark: TLS authentication for the Docker daemon'],
    inspects: ['boot config (instance metadata startup-script / user-data)'],
  },
  {
    id: 'sshd-root-key-only',
    title: "sshd lets root in by key only (PermitRootLogin prohibit-password) unless the config opts in",
    rationale: "PermitRootLogin yes allows root password logins wherever password authentication is switched back on.",
    fix: "Leave sshd.permitRootLogin at 'prohibit-password'; set 'yes' only deliberately (the runbook's setting)",
    equivalents: ['CIS Debian Linux Benchmark: SSH root login is disabled (PermitRootLogin)'],
    inspects: ['boot config (instance metadata startup-script / user-data)'],
  },
];

export function policyRule(id: PolicyRuleId): PolicyRule {
  const rule = POLICY_RULES.find((r) => r.id === id);
  if (!rule) throw new Error(`unknown policy rule ${id}`);
  return rule;
}
