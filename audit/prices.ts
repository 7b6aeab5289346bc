/**
 * List prices (USD) the audit report's cost estimate uses, for the three regions that offer T2A. No network access
 * at synth time: the numbers live here, with their date and sources, and the report prints both. Update them by
 * hand (and PRICES_DATE) when Google changes its price list; the tests pin the arithmetic, not the prices.
 *
 * What is verified and what is an estimate:
 * - T2A machine prices (on-demand and Spot) per predefined type: SkyPilot's GCP catalog (generated from the Cloud
 *   Billing Catalog API), catalogs/v8/gcp/vms.csv: t2a-standard-1 = 1 vCPU + 4 GB; every larger type is an exact
 *   multiple. Spot prices float (Google may change them daily): treat Spot as indicative.
 * - The split of that price into "per vCPU-hour" and "per GB-hour" is an ESTIMATE: Google's T2A vCPU and memory
 *   SKUs were not found in the sources available here, so the split borrows T2D's published ratio
 *   (vCPU $0.027502 : GB $0.003686, i.e. 65.1 % of a 1-vCPU/4-GB bundle is vCPU). Totals do not depend on it.
 * - Persistent disk, us-central1: cloud.google.com/compute/disks-image-pricing (200 GB pd-standard = $8.00/month,
 *   pd-ssd = $34.00/month) and pd-balanced $0.10. europe-west4 and asia-southeast1 disk prices were NOT found:
 *   ESTIMATES at 1.1× and 1.2× the us-central1 price (Google's usual regional uplift).
 * - Cloud NAT: cloud.google.com/nat/pricing: $0.0014 per VM-hour (up to 32 VMs), $0.045 per GiB processed, $0.005
 *   per hour per NAT IP address; the same in every region.
 * - External IPv4 on a VM: $0.005/hour (standard VM) and $0.0025/hour (Spot/preemptible), from
 *   cloud.google.com/vpc/network-pricing as remembered, NOT re-verified here: treat as an estimate.
 */

export const PRICES_DATE = '2026-12-03';
export const HOURS_PER_MONTH = 730;

export const PRICE_SOURCES = [
  'https://cloud.google.com/compute/vm-instance-pricing',
  'https://cloud.google.com/spot-vms/pricing',
  'https://github.com/skypilot-org/skypilot-catalog/blob/master/catalogs/v8/gcp/vms.csv',
  'https://cloud.google.com/compute/disks-image-pricing',
  'https://cloud.google.com/nat/pricing',
  'https://cloud.google.com/vpc/network-pricing',
];

/** Share of a 1-vCPU + 4-GB T2A bundle attributed to the vCPU (ESTIMATE, T2D's ratio: see above). */
export const T2A_VCPU_SHARE = 0.651;
export const T2A_GB_PER_VCPU = 4;

export interface RegionPrices {
  /** Price of one T2A vCPU with its 4 GB (t2a-standard-1), per hour. */
  t2aBundleOnDemand: number;
  t2aBundleSpot: number;
  /** Persistent disk per GB-month. */
  disk: { 'pd-ssd': number; 'pd-balanced': number; 'pd-standard': number };
  /** True when the disk prices are estimates (not found in a source). */
  diskEstimated: boolean;
}

export const REGION_PRICES: Record<string, RegionPrices> = {
  'us-central1': {
    t2aBundleOnDemand: 0.0385,
    t2aBundleSpot: 0.01065,
    disk: { 'pd-ssd': 0.17, 'pd-balanced': 0.1, 'pd-standard': 0.04 },
    diskEstimated: false,
  },
  'europe-west4': {
    t2aBundleOnDemand: 0.04044,
    t2aBundleSpot: 0.02021,
    disk: { 'pd-ssd': 0.187, 'pd-balanced': 0.11, 'pd-standard': 0.044 },
    diskEstimated: true,
  },
  'asia-southeast1': {
    t2aBundleOnDemand: 0.04748,
    t2aBundleSpot: 0.01119,
    disk: { 'pd-ssd': 0.204, 'pd-balanced': 0.12, 'pd-standard': 0.048 },
    diskEstimated: true,
  },
};

export const NAT_PRICES = {
  perVmHour: 0.0014,
  perGiB: 0.045,
  perNatIpHour: 0.005,
};

/** External IPv4 on a VM (ESTIMATE: not re-verified, see above). */
export const EXTERNAL_IP_PRICES = {
  standardVmHour: 0.005,
  spotVmHour: 0.0025,
  estimated: true,
};
