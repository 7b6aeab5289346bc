import { Testing } from 'cdktf';
// The cdktf matchers (toHaveResourceWithProperties, …) and their types; only this file needs them, and loading
// cdktf in a setup file would cost every test file ~1 s.
import 'cdktf/lib/testing/adapters/jest';
import { only, resources, synth, TEST_PUBLIC_KEY } from './helpers';
import { REQUIRED_APIS } from '../constructs/required-apis';
import { ALLOW_PRIORITY, DENY_PRIORITY } from '../constructs/iap-ssh-firewall';
import { roleIdPrefix } from '../constructs/builder-stack';
import { INSTANCE_OPERATOR_PERMISSIONS, INSTANCE_USER_PERMISSIONS } from '../constructs/builder-access';

Testing.setupJest();

const defaults = synth();
const ref = (type: string, name: string, attr: string) => {
  const [id] = Object.keys(resources(defaults, type)).filter((k) => k.includes(name));
  return `\${${type}.${id}.${attr}}`;
};

describe('required APIs', () => {
  it('enables every API and never disables one on destroy', () => {
    const apis = Object.values(resources(defaults, 'google_project_service'));
    expect(apis.map((a) => a.service).sort()).toEqual([...REQUIRED_APIS].sort());
    for (const api of apis) {
      expect(api).toMatchObject({ project: 'multi-arch-docker', disable_on_destroy: false, disable_dependent_services: false });
    }
  });
});

describe('builder service account', () => {
  it('is `builder` and holds Artifact Registry Writer, nothing else, project-wide', () => {
    expect(defaults.json).toHaveResourceWithProperties({ tfResourceType: 'google_service_account' }, { account_id: 'builder', project: 'multi-arch-docker' });
    const grants = Object.values(resources(defaults, 'google_project_iam_member'));
    const builderGrants = grants.filter((g) => String(g.member).includes('google_service_account'));
    expect(builderGrants.map((g) => g.role)).toEqual(['roles/artifactregistry.writer']);
  });

  it('scopes the writer role to the repository when the stack creates one', () => {
    const s = synth({ artifactRegistry: { create: true, location: 'us-central1', repositoryId: 'images' } });
    expect(Object.values(resources(s, 'google_project_iam_member')).map((g) => g.role)).not.toContain('roles/artifactregistry.writer');
    expect(s.json).toHaveResourceWithProperties({ tfResourceType: 'google_artifact_registry_repository' }, { format: 'DOCKER', location: 'us-central1', repository_id: 'images' });
    const writers = Object.values(resources(s, 'google_artifact_registry_repository_iam_member'));
    expect(writers.map((w) => [w.role, w.member])).toEqual([
      ['roles/artifactregistry.writer', ref('google_service_account', 'builder-sa', 'member')],
      ['roles/artifactregistry.writer', 'serviceAccount:${data.google_project.project.number}@cloudbuild.gserviceaccount.com'],
    ]);
  });
});

describe('ssh key secrets', () => {
  it('generates an ed25519 key and stores both halves under the runbook secret ids', () => {
    const key = resources(defaults, 'tls_private_key');
    expect(Object.keys(key)).toEqual(['builder_ssh_key']);
    expect(key.builder_ssh_key.algorithm).toBe('ED25519');
    const secrets = Object.values(resources(defaults, 'google_secret_manager_secret'));
    expect(secrets.map((s) => s.secret_id).sort()).toEqual(['build-google_compute_engine-ssh-priv', 'build-google_compute_engine-ssh-pub']);
    for (const s of secrets) expect(s.replication).toEqual({ auto: {} });
    const versions = Object.values(resources(defaults, 'google_secret_manager_secret_version'));
    expect(versions.map((v) => v.secret_data).sort()).toEqual([
      '${tls_private_key.builder_ssh_key.private_key_openssh}',
      '${trimspace(tls_private_key.builder_ssh_key.public_key_openssh)}',
    ]);
  });

  it('with an external key, Terraform never sees a private key and the private secret stays empty', () => {
    const s = synth({ sshKey: { mode: 'external', publicKeyFile: 'k.pub' } }, TEST_PUBLIC_KEY);
    expect(resources(s, 'tls_private_key')).toEqual({});
    expect(s.tf).not.toHaveProperty('provider.tls');
    const versions = Object.values(resources(s, 'google_secret_manager_secret_version'));
    expect(versions.map((v) => v.secret_data)).toEqual([TEST_PUBLIC_KEY]);
    expect(only(s, 'google_compute_instance').metadata).toMatchObject({ 'ssh-keys': `root:${TEST_PUBLIC_KEY}` });
  });
});

describe('IAP firewall', () => {
  it('allows tcp:22 only from IAP to the builder account, and denies SSH and Docker ports from everywhere else', () => {
    const allow = only(defaults, 'google_compute_firewall', { name: 'builder-arm64-2cpu-allow-iap-ssh' });
    expect(allow).toMatchObject({
      direction: 'INGRESS',
      network: 'default',
      priority: ALLOW_PRIORITY,
      source_ranges: ['35.235.240.0/20'],
      allow: [{ protocol: 'tcp', ports: ['22'] }],
    });
    const target = allow.target_service_accounts;
    expect(target).toEqual([ref('google_service_account', 'builder-sa', 'email')]);
    const deny = only(defaults, 'google_compute_firewall', { name: 'builder-arm64-2cpu-deny-ssh' });
    expect(deny).toMatchObject({
      priority: DENY_PRIORITY,
      source_ranges: ['0.0.0.0/0'],
      deny: [{ protocol: 'tcp', ports: ['22', '2375', '2376'] }],
      target_service_accounts: target,
    });
    expect(DENY_PRIORITY).toBeGreaterThan(ALLOW_PRIORITY);
    expect(DENY_PRIORITY).toBeLessThan(65534); // beats default-allow-ssh without touching it
  });

  it('leaves the deny rule out on request and follows a custom Docker port', () => {
    const s = synth({ network: { denyOtherSsh: false } });
    expect(Object.keys(resources(s, 'google_compute_firewall'))).toHaveLength(1);
    const p = synth({ docker: { port: 23750 } });
    expect(only(p, 'google_compute_firewall', { priority: DENY_PRIORITY }).deny).toEqual([{ protocol: 'tcp', ports: ['22', '2375', '2376', '23750'] }]);
  });
});

describe('egress', () => {
  it('defaults to Cloud NAT for the builder subnetwork only, and no public IP', () => {
    expect(defaults.json).toHaveResourceWithProperties({ tfResourceType: 'google_compute_router' }, { name: 'builder-arm64-2cpu-router', region: 'us-central1', network: 'default' });
    expect(only(defaults, 'google_compute_router_nat')).toMatchObject({
      region: 'us-central1',
      source_subnetwork_ip_ranges_to_nat: 'LIST_OF_SUBNETWORKS',
      subnetwork: [{ name: 'projects/multi-arch-docker/regions/us-central1/subnetworks/default', source_ip_ranges_to_nat: ['ALL_IP_RANGES'] }],
    });
    const nic = (only(defaults, 'google_compute_instance').network_interface as Record<string, unknown>[])[0];
    expect(nic.access_config).toBeUndefined();
  });

  it('uses an ephemeral public IP instead of NAT when asked, and neither with egress none', () => {
    const pub = synth({ network: { egress: 'public-ip' } });
    expect(resources(pub, 'google_compute_router_nat')).toEqual({});
    expect((only(pub, 'google_compute_instance').network_interface as Record<string, unknown>[])[0].access_config).toEqual([{}]);
    const none = synth({ network: { egress: 'none', subnetwork: 'builders' } });
    expect(resources(none, 'google_compute_router')).toEqual({});
    expect((only(none, 'google_compute_instance').network_interface as Record<string, unknown>[])[0]).toMatchObject({ subnetwork: 'builders' });
  });
});

describe('builder instance', () => {
  const vm = only(defaults, 'google_compute_instance');

  it('is the runbook VM: T2A in us-central1-a, Debian arm64, 40 GB SSD, running as the builder account', () => {
    expect(vm).toMatchObject({
      name: 'builder-arm64-2cpu',
      zone: 'us-central1-a',
      machine_type: 't2a-standard-2',
      allow_stopping_for_update: true,
      can_ip_forward: false,
      boot_disk: { auto_delete: true, initialize_params: { image: 'projects/debian-cloud/global/images/family/debian-12-arm64', type: 'pd-ssd', size: 40 } },
      service_account: { email: ref('google_service_account', 'builder-sa', 'email'), scopes: ['cloud-platform'] },
      shielded_instance_config: { enable_secure_boot: true, enable_vtpm: true, enable_integrity_monitoring: true },
      scheduling: { provisioning_model: 'STANDARD', automatic_restart: true },
      labels: { purpose: 'buildx-arm64-node', 'managed-by': 'cdktf' },
    });
  });

  it('trusts only its own key: instance ssh-keys, project keys blocked, no OS Login, no serial port', () => {
    const md = vm.metadata as Record<string, string>;
    expect(Object.keys(md).sort()).toEqual(['block-project-ssh-keys', 'enable-guest-attributes', 'enable-oslogin', 'serial-port-enable', 'ssh-keys', 'startup-script']);
    expect(md).toMatchObject({ 'block-project-ssh-keys': 'TRUE', 'enable-oslogin': 'FALSE', 'serial-port-enable': 'FALSE', 'enable-guest-attributes': 'TRUE' });
    expect(md['ssh-keys']).toBe('root:${trimspace(tls_private_key.builder_ssh_key.public_key_openssh)}');
  });

  it('runs as Spot when asked: stopped, not deleted, on preemption', () => {
    const s = synth({ instance: { spot: true } });
    expect(only(s, 'google_compute_instance').scheduling).toEqual({
      provisioning_model: 'SPOT',
      preemptible: true,
      automatic_restart: false,
      on_host_maintenance: 'TERMINATE',
      instance_termination_action: 'STOP',
    });
  });

  it('boots Ubuntu images with cloud-init user-data instead of a startup-script', () => {
    const s = synth({ instance: { image: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-arm64' } });
    const md = only(s, 'google_compute_instance').metadata as Record<string, string>;
    expect(md['user-data']).toMatch(/^#cloud-config\n/);
    expect(md['startup-script']).toBeUndefined();
  });

  it('can turn Shielded VM off and follows machine type, disk and image settings', () => {
    const s = synth({ instance: { shieldedVm: false, machineType: 't2a-standard-8', diskType: 'pd-balanced', diskSizeGb: 100 } });
    expect(only(s, 'google_compute_instance')).toMatchObject({
      machine_type: 't2a-standard-8',
      boot_disk: { initialize_params: { type: 'pd-balanced', size: 100 } },
      shielded_instance_config: { enable_secure_boot: false, enable_vtpm: false, enable_integrity_monitoring: false },
    });
  });
});

describe('access for Cloud Build and operators', () => {
  const cloudBuild = 'serviceAccount:${data.google_project.project.number}@cloudbuild.gserviceaccount.com';

  it('defines minimal custom roles', () => {
    const roles = Object.values(resources(defaults, 'google_project_iam_custom_role'));
    expect(roles.map((r) => [r.role_id, r.permissions])).toEqual([
      ['armBuilder_builder_arm64_2cpu_instance_user', INSTANCE_USER_PERMISSIONS],
      ['armBuilder_builder_arm64_2cpu_project_reader', ['compute.projects.get']],
    ]);
  });

  it('grants Cloud Build (default account from the project number) only resource-scoped access', () => {
    expect(defaults.tf.data?.google_project?.project).toEqual({ project_id: 'multi-arch-docker' });
    expect(only(defaults, 'google_compute_instance_iam_member', { member: cloudBuild })).toMatchObject({
      instance_name: ref('google_compute_instance', 'builder', 'name'),
      role: ref('google_project_iam_custom_role', 'instance-user-role', 'name'),
      zone: 'us-central1-a',
    });
    expect(only(defaults, 'google_iap_tunnel_instance_iam_member', { member: cloudBuild })).toMatchObject({
      instance: ref('google_compute_instance', 'builder', 'name'),
      role: 'roles/iap.tunnelResourceAccessor',
    });
    expect(only(defaults, 'google_secret_manager_secret_iam_member', { member: cloudBuild })).toMatchObject({
      secret_id: ref('google_secret_manager_secret', 'private', 'id'),
      role: 'roles/secretmanager.secretAccessor',
    });
    expect(only(defaults, 'google_service_account_iam_member', { member: cloudBuild })).toMatchObject({
      service_account_id: ref('google_service_account', 'builder-sa', 'name'),
      role: 'roles/iam.serviceAccountUser',
    });
    expect(only(defaults, 'google_project_iam_member', { member: cloudBuild }).role).toBe(
      ref('google_project_iam_custom_role', 'project-reader-role', 'name'),
    );
  });

  it('never grants a predefined role project-wide except the builder account registry writer', () => {
    const s = synth({ access: { operators: ['group:builders@example.com'] } });
    for (const g of Object.values(resources(s, 'google_project_iam_member'))) {
      expect([String(g.role), String(g.member)]).toEqual(
        g.role === 'roles/artifactregistry.writer'
          ? ['roles/artifactregistry.writer', ref('google_service_account', 'builder-sa', 'member')]
          : [expect.stringMatching(/^\$\{google_project_iam_custom_role\..*project-reader-role.*\.name\}$/), String(g.member)],
      );
    }
  });

  it('uses a configured Cloud Build account without looking up the project', () => {
    const s = synth({ access: { cloudBuildServiceAccount: 'ci-builds@multi-arch-docker.iam.gserviceaccount.com' } });
    expect(s.tf.data).toBeUndefined();
    expect(only(s, 'google_iap_tunnel_instance_iam_member').member).toBe('serviceAccount:ci-builds@multi-arch-docker.iam.gserviceaccount.com');
  });

  it('gives operators tunnel, start/stop/set-keys on the instance and the key; key versions only with external keys', () => {
    const member = 'group:builders@example.com';
    const s = synth({ access: { operators: [member] } });
    expect(only(s, 'google_project_iam_custom_role', { permissions: INSTANCE_OPERATOR_PERMISSIONS })).toBeTruthy();
    expect(only(s, 'google_compute_instance_iam_member', { member }).role).toMatch(/instance-operator-role/);
    expect(only(s, 'google_iap_tunnel_instance_iam_member', { member }).role).toBe('roles/iap.tunnelResourceAccessor');
    expect(Object.values(resources(s, 'google_secret_manager_secret_iam_member')).filter((g) => g.member === member).map((g) => g.role)).toEqual([
      'roles/secretmanager.secretAccessor',
    ]);
    const ext = synth({ access: { operators: [member] }, sshKey: { mode: 'external', publicKeyFile: 'k.pub' } }, TEST_PUBLIC_KEY);
    expect(Object.values(resources(ext, 'google_secret_manager_secret_iam_member')).filter((g) => g.member === member).map((g) => g.role).sort()).toEqual([
      'roles/secretmanager.secretAccessor',
      'roles/secretmanager.secretVersionManager',
      'roles/secretmanager.secretVersionManager',
    ]);
  });

  it('lists every grant for reviewers, with readable names', () => {
    const s = synth({ access: { operators: ['user:ops@example.com'] } });
    expect(s.stack.access.grants).toContainEqual({
      member: 'serviceAccount:PROJECT_NUMBER@cloudbuild.gserviceaccount.com',
      role: 'roles/secretmanager.secretAccessor',
      scope: 'secret',
      resource: 'build-google_compute_engine-ssh-priv',
      why: 'Cloud Build: read the SSH private key',
    });
    expect(s.stack.access.grants.filter((g) => g.member === 'user:ops@example.com')).toHaveLength(5);
  });
});

describe('outputs', () => {
  it('prints where the builder is and paste-ready commands, and nothing secret', () => {
    const o = defaults.tf.output;
    expect(Object.keys(o).sort()).toEqual([
      'boot_config_hash',
      'builder_service_account',
      'buildx_create_command',
      'cloud_build_service_account',
      'docker_context_command',
      'iap_tunnel_command',
      'instance_name',
      'instance_zone',
      'project_id',
      'ssh_private_key_secret',
      'ssh_public_key_secret',
    ]);
    expect(o.iap_tunnel_command.value).toBe(
      'gcloud compute ssh root@builder-arm64-2cpu --project multi-arch-docker --zone us-central1-a --tunnel-through-iap -- -L 127.0.0.1:2375:127.0.0.1:2375 -N',
    );
    expect(o.docker_context_command.value).toBe('docker context create builder-arm64-2cpu-tunnel --docker host=tcp://127.0.0.1:2375');
    expect(o.buildx_create_command.value).toContain(
      'docker buildx create --name builder-arm64-2cpu-multiarch --append --node builder-arm64-2cpu-multiarch-arm64 --platform linux/arm64 builder-arm64-2cpu-tunnel',
    );
    expect(o.boot_config_hash.value).toMatch(/^[0-9a-f]{16}$/);
    for (const v of Object.values(o)) expect(JSON.stringify(v)).not.toMatch(/private_key_openssh|private_key_pem/);
  });
});

describe('custom role ids', () => {
  it('stay within 64 characters and unique for long instance names', () => {
    const a = roleIdPrefix('b'.repeat(63));
    const b = roleIdPrefix(`${'b'.repeat(62)}c`);
    expect(`${a}_instance_operator`.length).toBeLessThanOrEqual(64);
    expect(`${a}_instance_operator`).toMatch(/^[A-Za-z0-9_.]{3,64}$/);
    expect(a).not.toBe(b);
    expect(roleIdPrefix('builder-arm64-2cpu')).toBe('armBuilder_builder_arm64_2cpu');
  });
});
