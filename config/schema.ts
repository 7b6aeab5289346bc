/**
 * The one config schema: defaults (the runbook's values), validation and the README's config reference all come
 * from here. Every field has a description; `npm run docs:config` regenerates the README table from it.
 */
import { z } from 'zod';
import {
  DOCKER_APT_KEY_FINGERPRINT,
  IAP_TCP_FORWARDING_RANGE,
  T2A_DISK_TYPES,
  T2A_MACHINE_TYPES,
  T2A_ZONES,
} from './facts';
import { POLICY_RULE_IDS } from './policy-rules';

const RFC1035 = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const rfc1035 = (what: string) =>
  z.string().regex(RFC1035, {
    message: `${what} must be an RFC 1035 name: 1-63 characters, lowercase letters, digits and '-', starting with a letter and not ending with '-'`,
  });

const PROJECT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const SA_EMAIL = /^[a-z0-9][-a-z0-9.]*@[a-z0-9][-a-z0-9.]*\.(gserviceaccount\.com|iam\.gserviceaccount\.com)$/;
const MEMBER = /^(user|serviceAccount|group|domain|principal|principalSet):[^\s]+$/;
const SECRET_ID = /^[a-zA-Z0-9_-]{1,255}$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const GCS_BUCKET = /^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$/;
const ARM64_IMAGE = /(arm64|aarch64)/;

function isIpv4Cidr(value: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return false;
  // The address must be the network address for the prefix (no host bits set), as GCP firewall rules require.
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (addr & ~mask) >>> 0 === 0;
}

const cidr = z.string().refine(isIpv4Cidr, {
  message: 'must be an IPv4 CIDR with no host bits set, e.g. 35.235.240.0/20',
});

const member = z.string().regex(MEMBER, {
  message: "must be an IAM member: 'user:', 'group:', 'serviceAccount:', 'domain:', 'principal:' or 'principalSet:' followed by an identity",
});

const instance = z
  .object({
    name: rfc1035('instance.name').default('builder-arm64-2cpu').describe('VM name.'),
    machineType: z
      .enum(T2A_MACHINE_TYPES, { message: `must be a T2A machine type: ${T2A_MACHINE_TYPES.join(', ')}` })
      .default('t2a-standard-2')
      .describe('T2A machine type (2 vCPUs are enough for multi-arch builds, per the runbook).'),
    image: z
      .string()
      .regex(ARM64_IMAGE, {
        message: "must be an arm64 image (its name or family contains 'arm64' or 'aarch64'), e.g. projects/debian-cloud/global/images/family/debian-12-arm64",
      })
      .default('projects/debian-cloud/global/images/family/debian-12-arm64')
      .describe('Boot image (arm64). Default: the Debian 12 (bookworm) arm64 family, the one the boot tests run; debian-13-arm64 works the same way.'),
    diskType: z
      .enum(T2A_DISK_TYPES, { message: `must be a disk type T2A supports: ${T2A_DISK_TYPES.join(', ')}` })
      .default('pd-ssd')
      .describe('Boot disk type.'),
    diskSizeGb: z
      .number()
      .int({ message: 'must be a whole number of GB' })
      .min(10, { message: 'must be at least 10 GB (the image needs it)' })
      .max(65536, { message: 'must be at most 65536 GB' })
      .default(40)
      .describe('Boot disk size in GB (image layers and BuildKit cache live here).'),
    spot: z
      .boolean()
      .default(false)
      .describe('Run as a Spot VM (about 60-70% cheaper; may be preempted, then it is STOPPED, not deleted).'),
    shieldedVm: z
      .boolean()
      .default(true)
      .describe('Shielded VM: Secure Boot, vTPM and integrity monitoring (T2A supports it with UEFI arm64 images).'),
    bootConfig: z
      .enum(['auto', 'startup-script', 'cloud-init'])
      .default('auto')
      .describe("How the VM configures itself at boot: 'startup-script' (Debian images), 'cloud-init' (images with cloud-init, e.g. Ubuntu) or 'auto' (cloud-init for ubuntu images)."),
    labels: z
      .record(
        z.string().regex(LABEL_KEY, { message: 'label keys must be lowercase letters, digits, _ or -, starting with a letter, max 63' }),
        z.string().regex(LABEL_VALUE, { message: 'label values must be lowercase letters, digits, _ or -, max 63' }),
      )
      .default({ purpose: 'buildx-arm64-node', 'managed-by': 'cdktf' })
      .describe('Labels on the VM and its disk.'),
  })
  .strict()
  .prefault({});

const serviceAccount = z
  .object({
    accountId: z
      .string()
      .regex(/^[a-z]([-a-z0-9]{4,28}[a-z0-9])$/, {
        message: "must be 6-30 characters: lowercase letters, digits and '-', starting with a letter",
      })
      .default('builder')
      .describe('Account id of the service account the VM runs as (holds only Artifact Registry Writer).'),
  })
  .strict()
  .prefault({});

const sshKey = z
  .object({
    mode: z
      .enum(['generate', 'external'])
      .default('generate')
      .describe("'generate': Terraform makes an ed25519 pair (tls provider; the private key is in Terraform state, so protect the state). 'external': you bring the public key file; Terraform never sees the private key."),
    publicKeyFile: z
      .string()
      .min(1)
      .optional()
      .describe("With mode 'external': path to the OpenSSH public key (relative to the config file). Required there."),
    privateKeySecretId: z
      .string()
      .regex(SECRET_ID, { message: 'must be 1-255 letters, digits, _ or -' })
      .default('build-google_compute_engine-ssh-priv')
      .describe('Secret Manager secret holding the private key.'),
    publicKeySecretId: z
      .string()
      .regex(SECRET_ID, { message: 'must be 1-255 letters, digits, _ or -' })
      .default('build-google_compute_engine-ssh-pub')
      .describe('Secret Manager secret holding the public key.'),
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: 'must be a Linux user name' })
      .default('root')
      .describe('User the key logs in as (root, as in the runbook: Docker and port forwarding need no sudo).'),
  })
  .strict()
  .prefault({});

const network = z
  .object({
    name: rfc1035('network.name').default('default').describe('VPC network the VM joins.'),
    subnetwork: rfc1035('network.subnetwork').optional().describe('Subnetwork (default: the network\'s subnet in the zone\'s region).'),
    egress: z
      .enum(['cloud-nat', 'public-ip', 'none'])
      .default('cloud-nat')
      .describe("How the VM reaches apt and registries: 'cloud-nat' (no public IP; a Cloud Router + NAT), 'public-ip' (an ephemeral external IP; cheaper, but exposed to the internet, firewalled), 'none' (you already have NAT)."),
    iapSourceRanges: z
      .array(cidr)
      .min(1, { message: 'must list at least one range' })
      .default([IAP_TCP_FORWARDING_RANGE])
      .describe("Source ranges allowed to reach tcp:22 (IAP's TCP forwarding range)."),
    denyOtherSsh: z
      .boolean()
      .default(true)
      .describe('Add a lower-priority rule denying tcp:22 and the Docker ports to the builder from everywhere else (instead of editing default-allow-ssh).'),
  })
  .strict()
  .prefault({});

const access = z
  .object({
    cloudBuildServiceAccount: z
      .string()
      .regex(SA_EMAIL, { message: 'must be a service account email, e.g. 123456789012@cloudbuild.gserviceaccount.com' })
      .optional()
      .describe('Service account Cloud Build runs as (default: PROJECT_NUMBER@cloudbuild.gserviceaccount.com, looked up at plan time).'),
    operators: z
      .array(member)
      .default([])
      .describe('IAM members who may start, stop and tunnel to the builder and read its key (e.g. group:builders@example.com).'),
  })
  .strict()
  .prefault({});

const artifactRegistry = z
  .object({
    create: z.boolean().default(false).describe('Create a Docker Artifact Registry repository and scope the builder\'s writer role to it.'),
    repositoryId: rfc1035('artifactRegistry.repositoryId').default('docker').describe('Repository id (when create is true).'),
    location: z
      .string()
      .regex(/^[a-z]+(-[a-z]+[0-9]+)?$/, { message: "must be a region (us-central1) or multi-region (us, europe, asia)" })
      .default('us')
      .describe('Repository location; registry host is LOCATION-docker.pkg.dev.'),
  })
  .strict()
  .prefault({});

const docker = z
  .object({
    source: z
      .enum(['docker-ce', 'debian'])
      .default('docker-ce')
      .describe("'docker-ce': Docker's apt repository (key fingerprint verified). 'debian': Debian's docker.io packages (mirrors, air-gapped)."),
    aptUrl: z
      .string()
      .regex(/^https?:\/\/[^\s'"]+$/, { message: 'must be an http(s) URL' })
      .default('https://download.docker.com/linux/debian')
      .describe("Docker apt repository (a mirror of download.docker.com works). Ubuntu images use .../linux/ubuntu automatically when left at the default."),
    aptKeyFingerprint: z
      .string()
      .regex(/^[0-9A-F]{40}$/, { message: 'must be a 40-character uppercase hex OpenPGP fingerprint' })
      .default(DOCKER_APT_KEY_FINGERPRINT)
      .describe("Fingerprint the repository's signing key must have before apt trusts it."),
    tcpListener: z
      .enum(['loopback', 'tls', 'none'])
      .default('loopback')
      .describe("'loopback': dockerd on tcp://127.0.0.1:PORT (reached through the SSH tunnel). 'tls': on 0.0.0.0:2376 with TLS client certs you provide. 'none': only the unix socket (for ssh:// docker contexts)."),
    port: z.number().int().min(1024).max(65535).default(2375).describe('TCP port of the loopback listener.'),
    gcKeepStorageGb: z.number().int().min(1).max(65536).default(20).describe('BuildKit garbage collection keeps at most this much build cache (GB).'),
    logMaxSize: z.string().regex(/^[1-9][0-9]*[kmg]$/, { message: "must look like 10m, 500k or 1g" }).default('10m').describe('Container log rotation: size of one file.'),
    logMaxFiles: z.number().int().min(1).max(100).default(3).describe('Container log rotation: files kept.'),
    registryHosts: z
      .array(z.string().regex(/^[a-z0-9-]+-docker\.pkg\.dev$/, { message: 'must be an Artifact Registry host like us-docker.pkg.dev' }))
      .default(['us-docker.pkg.dev'])
      .describe("Registries root's Docker authenticates to with the VM's service account (gcloud credential helper)."),
  })
  .strict()
  .prefault({});

const sshd = z
  .object({
    permitRootLogin: z
      .enum(['prohibit-password', 'yes'])
      .default('prohibit-password')
      .describe("sshd PermitRootLogin. The runbook's 'yes' only by explicit opt-in: keys are the only way in."),
  })
  .strict()
  .prefault({});

const state = z
  .object({
    gcsBucket: z
      .string()
      .regex(GCS_BUCKET, { message: 'must be a GCS bucket name (3-63 lowercase letters, digits, -, _ and .)' })
      .optional()
      .describe('Keep Terraform state in this GCS bucket (else a local file terraform.STACK.tfstate in the project root).'),
    gcsPrefix: z.string().regex(/^[A-Za-z0-9/_.-]+$/, { message: 'must be a path prefix' }).default('arm64-builder').describe('Object prefix in the bucket.'),
  })
  .strict()
  .prefault({});

const WAIVER_REASON_MIN = 20;

const waiver = z
  .object({
    rule: z
      .enum(POLICY_RULE_IDS, { message: `must be a policy rule id: ${POLICY_RULE_IDS.join(', ')}` })
      .describe('Id of the rule to waive (docs/audit.md lists them).'),
    reason: z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? `is required: say why the rule does not apply here (at least ${WAIVER_REASON_MIN} characters)`
            : 'must be a string',
      })
      .max(500, { message: 'must be at most 500 characters (link a ticket for the long story)' })
      .refine((r) => r.trim().length >= WAIVER_REASON_MIN, {
        message: `must say why, in at least ${WAIVER_REASON_MIN} characters that are not all whitespace: reviewers read it in the audit report`,
      })
      .describe('Why the rule does not apply: shown next to the rule in the audit report.'),
  })
  .strict();

const policy = z
  .object({
    waivers: z
      .array(waiver)
      .default([])
      .superRefine((waivers, ctx) => {
        const first = new Map<string, number>();
        waivers.forEach((w, i) => {
          const j = first.get(w.rule);
          if (j === undefined) first.set(w.rule, i);
          else ctx.addIssue({ code: 'custom', path: [i, 'rule'], input: w.rule, message: `is waived twice (first at policy.waivers[${j}]): one waiver per rule, with one reason` });
        });
      })
      .describe('Policy rules this builder does not have to pass, each with a written reason. A failing rule without a waiver stops synth (exit 3).'),
  })
  .strict()
  .prefault({});

/** One builder: everything needed to synthesize one stack. */
export const builderSchema = z
  .object({
    stackName: rfc1035('stackName').optional().describe('Terraform stack name (default: the instance name).'),
    projectId: z
      .string()
      .regex(PROJECT_ID, { message: "must be a GCP project id: 6-30 characters, lowercase letters, digits and '-', starting with a letter" })
      .default('multi-arch-docker')
      .describe('GCP project id.'),
    zone: z
      .enum(T2A_ZONES, { message: `must be a zone that offers T2A: ${T2A_ZONES.join(', ')}` })
      .default('us-central1-a')
      .describe('Zone of the VM (must offer T2A).'),
    instance,
    serviceAccount,
    sshKey,
    network,
    access,
    artifactRegistry,
    docker,
    sshd,
    idleShutdownMinutes: z
      .number()
      .int({ message: 'must be a whole number of minutes' })
      .min(0)
      .max(1440)
      .default(30)
      .describe('Power the VM off after this many minutes without builds, containers or SSH sessions (0 disables).'),
    state,
    policy,
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.sshKey.mode === 'external' && !cfg.sshKey.publicKeyFile) {
      ctx.addIssue({ code: 'custom', path: ['sshKey', 'publicKeyFile'], input: undefined, message: "is required when sshKey.mode is 'external'" });
    }
    if (cfg.sshKey.mode === 'generate' && cfg.sshKey.publicKeyFile) {
      ctx.addIssue({ code: 'custom', path: ['sshKey', 'publicKeyFile'], input: cfg.sshKey.publicKeyFile, message: "is only used with sshKey.mode 'external'; remove it or set the mode" });
    }
    if (cfg.sshKey.privateKeySecretId === cfg.sshKey.publicKeySecretId) {
      ctx.addIssue({ code: 'custom', path: ['sshKey', 'publicKeySecretId'], input: cfg.sshKey.publicKeySecretId, message: 'must differ from sshKey.privateKeySecretId' });
    }
    if (cfg.sshd.permitRootLogin === 'yes' && cfg.sshKey.user !== 'root') {
      ctx.addIssue({ code: 'custom', path: ['sshd', 'permitRootLogin'], input: 'yes', message: "only matters when sshKey.user is 'root'; leave it at 'prohibit-password'" });
    }
  });

export type BuilderConfig = z.output<typeof builderSchema>;
export type BuilderInput = z.input<typeof builderSchema>;
