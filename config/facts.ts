/**
 * Facts about Google Cloud that the schema validates against. They change rarely; when Google adds a T2A zone,
 * this is the one place to edit (the README's config reference is generated from the schema that reads it).
 */

/** Zones that offer the T2A (Ampere Altra, arm64) machine series. */
export const T2A_ZONES = [
  'us-central1-a',
  'us-central1-b',
  'us-central1-f',
  'europe-west4-a',
  'europe-west4-b',
  'europe-west4-c',
  'asia-southeast1-b',
  'asia-southeast1-c',
] as const;

/** T2A predefined machine types (vCPUs: 1, 2, 4, 8, 16, 32, 48; 4 GB per vCPU). */
export const T2A_MACHINE_TYPES = [
  't2a-standard-1',
  't2a-standard-2',
  't2a-standard-4',
  't2a-standard-8',
  't2a-standard-16',
  't2a-standard-32',
  't2a-standard-48',
] as const;

/** Persistent disk types T2A can boot from (T2A has no Hyperdisk or Local SSD support). */
export const T2A_DISK_TYPES = ['pd-ssd', 'pd-balanced', 'pd-standard'] as const;

/** Google's source range for IAP TCP forwarding: the only address that may reach port 22 of the builder. */
export const IAP_TCP_FORWARDING_RANGE = '35.235.240.0/20';

/** Docker's published signing key for download.docker.com (docs.docker.com/engine/install/debian). */
export const DOCKER_APT_KEY_FINGERPRINT = '9DC858229FC7DD38854AE2D88D81803C0EBFCD88';

/** The region of a zone: `us-central1-a` → `us-central1`. */
export function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}
