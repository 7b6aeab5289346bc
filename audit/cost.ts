/**
 * Estimated monthly cost of one builder, from audit/prices.ts: the VM on-demand and Spot side by side, the boot
 * disk, Cloud NAT or the external IP. Monthly means 730 hours; the idle shutdown means the VM itself is billed only
 * while it runs, so the report also gives the price of one running hour.
 */
import type { Builder } from '../config/load';
import { regionOf } from '../config/facts';
import {
  EXTERNAL_IP_PRICES,
  HOURS_PER_MONTH,
  NAT_PRICES,
  PRICE_SOURCES,
  PRICES_DATE,
  REGION_PRICES,
  T2A_GB_PER_VCPU,
  T2A_VCPU_SHARE,
} from './prices';

export interface CostLine {
  item: string;
  quantity: string;
  unitPrice: string;
  /** Monthly USD, on-demand VM / Spot VM (equal for items that do not depend on it). */
  onDemand: number;
  spot: number;
  /** True when the line runs only while the VM runs (stopped by the idle shutdown). */
  whileRunning: boolean;
  note?: string;
}

export interface CostEstimate {
  region: string;
  currency: 'USD';
  hoursPerMonth: number;
  pricesDate: string;
  sources: string[];
  /** Which pricing the config selects (instance.spot). */
  selected: 'on-demand' | 'spot';
  vm: { machineType: string; vcpus: number; memoryGb: number; onDemandHourly: number; spotHourly: number };
  unitPrices: Record<string, number | string>;
  lines: CostLine[];
  /** Every line for 730 hours: the VM never stopping. */
  alwaysOn: { onDemand: number; spot: number };
  /** What one running hour adds (VM + what runs with it); the rest is charged whether it runs or not. */
  perRunningHour: { onDemand: number; spot: number };
  /** Charged all month whether the VM runs or not (disk, NAT IP). */
  fixedMonthly: number;
  /** Example month with the idle shutdown: 8 running hours on 22 working days. */
  example: { runningHours: number; onDemand: number; spot: number };
  notes: string[];
  estimates: string[];
}

export const round2 = (x: number): number => Math.round(x * 100) / 100;
const round5 = (x: number): number => Math.round(x * 100000) / 100000;

export function estimateCost(b: Builder): CostEstimate {
  const region = regionOf(b.zone);
  const p = REGION_PRICES[region];
  if (!p) throw new Error(`no prices for region ${region} in audit/prices.ts`);
  const vcpus = Number(/-(\d+)$/.exec(b.instance.machineType)?.[1] ?? 1);
  const memoryGb = vcpus * T2A_GB_PER_VCPU;
  const onDemandHourly = round5(vcpus * p.t2aBundleOnDemand);
  const spotHourly = round5(vcpus * p.t2aBundleSpot);
  const H = HOURS_PER_MONTH;
  const lines: CostLine[] = [];
  const estimates: string[] = [
    `T2A per-vCPU / per-GB split (${round5(p.t2aBundleOnDemand * T2A_VCPU_SHARE)} / ${round5((p.t2aBundleOnDemand * (1 - T2A_VCPU_SHARE)) / T2A_GB_PER_VCPU)} USD/h on-demand) borrows T2D's ratio; the machine totals are list prices`,
    'Spot prices float (Google may change them daily); the Spot column is indicative',
  ];
  if (p.diskEstimated) estimates.push(`${region} disk prices are estimates (us-central1 price × regional uplift): not found in a source`);

  lines.push({
    item: `VM ${b.instance.machineType} (${vcpus} vCPU, ${memoryGb} GB)`,
    quantity: `${H} h`,
    unitPrice: `${onDemandHourly} USD/h on-demand, ${spotHourly} USD/h Spot`,
    onDemand: round2(onDemandHourly * H),
    spot: round2(spotHourly * H),
    whileRunning: true,
  });
  const diskPrice = p.disk[b.instance.diskType];
  lines.push({
    item: `Boot disk ${b.instance.diskType}`,
    quantity: `${b.instance.diskSizeGb} GB`,
    unitPrice: `${diskPrice} USD/GB-month${p.diskEstimated ? ' (estimate)' : ''}`,
    onDemand: round2(b.instance.diskSizeGb * diskPrice),
    spot: round2(b.instance.diskSizeGb * diskPrice),
    whileRunning: false,
    note: 'charged while the disk exists, running or not',
  });
  let perHourExtraOnDemand = 0;
  let perHourExtraSpot = 0;
  let fixed = round2(b.instance.diskSizeGb * diskPrice);
  const notes: string[] = [];
  if (b.network.egress === 'cloud-nat') {
    lines.push({
      item: 'Cloud NAT gateway (1 VM)',
      quantity: `${H} h`,
      unitPrice: `${NAT_PRICES.perVmHour} USD per VM-hour`,
      onDemand: round2(NAT_PRICES.perVmHour * H),
      spot: round2(NAT_PRICES.perVmHour * H),
      whileRunning: true,
      note: 'counted for VMs holding a NAT assignment',
    });
    lines.push({
      item: 'Cloud NAT IP address (AUTO_ONLY allocates one)',
      quantity: `${H} h`,
      unitPrice: `${NAT_PRICES.perNatIpHour} USD/h`,
      onDemand: round2(NAT_PRICES.perNatIpHour * H),
      spot: round2(NAT_PRICES.perNatIpHour * H),
      whileRunning: false,
    });
    perHourExtraOnDemand += NAT_PRICES.perVmHour;
    perHourExtraSpot += NAT_PRICES.perVmHour;
    fixed += round2(NAT_PRICES.perNatIpHour * H);
    notes.push(`plus ${NAT_PRICES.perGiB} USD per GiB through Cloud NAT (apt, base images, pushes to registries outside Google): e.g. 100 GiB = ${round2(100 * NAT_PRICES.perGiB)} USD`);
  } else if (b.network.egress === 'public-ip') {
    lines.push({
      item: 'Ephemeral external IPv4 on the VM',
      quantity: `${H} h`,
      unitPrice: `${EXTERNAL_IP_PRICES.standardVmHour} USD/h (standard VM), ${EXTERNAL_IP_PRICES.spotVmHour} USD/h (Spot) (estimate)`,
      onDemand: round2(EXTERNAL_IP_PRICES.standardVmHour * H),
      spot: round2(EXTERNAL_IP_PRICES.spotVmHour * H),
      whileRunning: true,
      note: 'an ephemeral address is released (and not charged) while the VM is stopped',
    });
    perHourExtraOnDemand += EXTERNAL_IP_PRICES.standardVmHour;
    perHourExtraSpot += EXTERNAL_IP_PRICES.spotVmHour;
    estimates.push('external IPv4 prices were not re-verified');
  } else {
    notes.push("network.egress 'none': egress through NAT you already run is not counted");
  }
  notes.push('Terraform-created Secret Manager secrets, IAM and firewall rules cost nothing or cents; not counted');
  const alwaysOn = {
    onDemand: round2(lines.reduce((s, l) => s + l.onDemand, 0)),
    spot: round2(lines.reduce((s, l) => s + l.spot, 0)),
  };
  const perRunningHour = { onDemand: round5(onDemandHourly + perHourExtraOnDemand), spot: round5(spotHourly + perHourExtraSpot) };
  const runningHours = 8 * 22;
  const example = {
    runningHours,
    onDemand: round2(fixed + perRunningHour.onDemand * runningHours),
    spot: round2(fixed + perRunningHour.spot * runningHours),
  };
  if (b.idleShutdownMinutes > 0) {
    notes.unshift(
      `idle shutdown after ${b.idleShutdownMinutes} min: VM-hours accrue only while the VM runs. At ${runningHours} running hours a month (8 h × 22 days) the month costs about ${example.onDemand} USD on-demand or ${example.spot} USD Spot`,
    );
  } else {
    notes.unshift('idleShutdownMinutes is 0: the VM runs until someone stops it, so the always-on column applies');
  }
  return {
    region,
    currency: 'USD',
    hoursPerMonth: H,
    pricesDate: PRICES_DATE,
    sources: PRICE_SOURCES,
    selected: b.instance.spot ? 'spot' : 'on-demand',
    vm: { machineType: b.instance.machineType, vcpus, memoryGb, onDemandHourly, spotHourly },
    unitPrices: {
      't2a vCPU+4GB bundle, on-demand (USD/h)': p.t2aBundleOnDemand,
      't2a vCPU+4GB bundle, Spot (USD/h)': p.t2aBundleSpot,
      't2a vCPU, on-demand (USD/h, estimated split)': round5(p.t2aBundleOnDemand * T2A_VCPU_SHARE),
      't2a GB, on-demand (USD/GB-h, estimated split)': round5((p.t2aBundleOnDemand * (1 - T2A_VCPU_SHARE)) / T2A_GB_PER_VCPU),
      't2a vCPU, Spot (USD/h, estimated split)': round5(p.t2aBundleSpot * T2A_VCPU_SHARE),
      't2a GB, Spot (USD/GB-h, estimated split)': round5((p.t2aBundleSpot * (1 - T2A_VCPU_SHARE)) / T2A_GB_PER_VCPU),
      [`${b.instance.diskType} (USD/GB-month)`]: diskPrice,
      'Cloud NAT (USD per VM-hour)': NAT_PRICES.perVmHour,
      'Cloud NAT data processing (USD/GiB)': NAT_PRICES.perGiB,
      'Cloud NAT IP address (USD/h)': NAT_PRICES.perNatIpHour,
      'External IPv4, standard VM (USD/h, estimate)': EXTERNAL_IP_PRICES.standardVmHour,
      'External IPv4, Spot VM (USD/h, estimate)': EXTERNAL_IP_PRICES.spotVmHour,
    },
    lines,
    alwaysOn,
    perRunningHour,
    fixedMonthly: round2(fixed),
    example,
    notes,
    estimates,
  };
}
