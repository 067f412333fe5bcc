/**
 * Storage for the scenario runner: per host whose VMs have `disks`, one cluster volume (VMFS-like,
 * on a deterministic in-memory store) holding every VM disk as a vdisk file (DeDe, Clements et al.,
 * ATC'09); disks with an `image` are linked clones of a base-image file installed once per image;
 * a host's `storage.dedup` runs DeDe passes on the host's event queue; `storage.vic` gives each VM's
 * root disk a virtual SCSI controller with vIC interrupt coalescing (Ahmad et al., ATC'11).
 *
 * Trust domains (DeDe shares blocks only within one): a closed-box VM is its own domain; open-box
 * VMs whose disk (or VM) names the same image share one domain; any other open-box VM is its own.
 * A base image lives in its image's open-box domain (so guest writes equal to its blocks deduplicate
 * against it); clones get their VM's domain.
 *
 * Encrypted disks (default for closed-box VMs) are Terra `ProtectedDisk`s stacked on the volume
 * file, keyed with a key sealed to the TVMM's boot registers in the host's root of trust: the volume
 * holds only ciphertext, which also means they never deduplicate and cannot be linked clones of a
 * plaintext base image, and they stay on the synchronous disk path (a controller reads and writes
 * the volume file directly and would bypass the encryption).
 */
import { nobleProvider as P } from '../crypto/index.js';
import { createSealedDiskKey, ProtectedDisk } from '../attestation/index.js';
import { bootGuest } from '../guest/index.js';
import type { ScenarioVm, Scenario } from '../scenario/index.js';
import { NS_PER_MS, TerraError, type VmId } from '../sim/index.js';
import {
  ClusterVolume, DedupEngine, MemoryStore, checkVolume, computeLayout, defaultGeometry, volumeController, volumeDisk, volumeSpace,
  type PassReport, type VirtualScsiController, type VolumeBlockBackend,
} from '../storage/index.js';
import { STORAGE_PROGRAMS } from '../demo/storage.js';
import { Host, type BlockBackend, type Tvmm } from '../tvmm/index.js';
import type { DedupRow, InterruptRow } from '../report/index.js';

/** The volume host id of every VM disk of a scenario host (one volume per host, one writer). */
const VOL_HOST = 1;
/** Completion interrupt vector of the virtual SCSI controllers (as in the demo). */
export const SCSI_VECTOR = 0x40;
/** Seeded device jitter of the controllers (ns): spreads completions, as in the demo. */
const JITTER_NS = 2_000_000;
/**
 * vIC's IOPS-estimation epoch: 50 ms instead of DEFAULT_VIC's 200 ms (as in the demo), so a run of a
 * few hundred virtual ms estimates its IOPS while the IO is still going on.
 */
const VIC_EPOCH_NS = 50_000_000;
/** Largest cluster volume (MiB of data blocks; its metadata is held in memory, ~1 KiB per MiB). */
export const MAX_VOLUME_MIB = 4096;
const MIB = 1 << 20;
const BLOCKS_PER_MIB = MIB / 4096;

/** A scenario disk as the runner built it. */
export interface RunnerDisk {
  readonly vm: string;
  readonly name: string;
  /** What the guest uses it for: its filesystem, its swap, or nothing (attached, unused by the guest kernel). */
  readonly role: 'root' | 'swap' | 'data';
  readonly file: string;
  readonly domain: number;
  readonly image?: string;
  readonly encrypted: boolean;
  /** The volume file (ciphertext under a ProtectedDisk when encrypted). */
  readonly vdisk: VolumeBlockBackend;
  /** What the TVMM attaches (the ProtectedDisk when encrypted). */
  readonly backend: BlockBackend;
}

/** One host's storage runtime. */
export interface HostStorage {
  readonly hostName: string;
  readonly store: MemoryStore;
  readonly volume: ClusterVolume;
  readonly dedup?: DedupEngine;
  readonly disks: RunnerDisk[];
  readonly controllers: { vm: string; vmId: VmId; disk: string; ctl: VirtualScsiController }[];
  readonly passes: PassReport[];
  readonly notes: string[];
}

/** FNV-1a of a string (deterministic seed of an image's content). */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h || 1;
}

/** Trust-domain key of a VM's disk (see the module comment). */
function domainKey(v: ScenarioVm, image: string | undefined): string {
  if (v.kind === 'closed-box' || image === undefined) return `vm:${v.name}`;
  return `image:${image}`;
}

/** The domain id of `key` in `domains` (ids from 1 in order of first use: deterministic). */
function domainOf(domains: Map<string, number>, key: string): number {
  let d = domains.get(key);
  if (d === undefined) domains.set(key, (d = domains.size + 1));
  return d;
}

/**
 * Builds the cluster volume of host `hostName` for `vms` (the VMs placed on it that have disks):
 * formats it, installs each base image once (an installer guest on a scratch machine writes the
 * image's files through its filesystem, content seeded by the image name) at the size of its
 * clones (the caller has checked that all clones of an image have one size). TerraError when the
 * volume refuses a file or an installer guest fails ('INVALID_STATE').
 */
export function createHostStorage(hostName: string, host: Host, spec: Scenario['hosts'][number], vms: readonly ScenarioVm[], domains: Map<string, number>): HostStorage {
  const images = new Map<string, number>(); // image → sizeMiB
  let totalMiB = 0;
  for (const v of vms) {
    for (const d of v.disks) {
      totalMiB += d.sizeMiB;
      const encrypted = d.encrypted ?? v.kind === 'closed-box';
      if (d.image === undefined || encrypted || images.has(d.image)) continue;
      images.set(d.image, d.sizeMiB); // the runner checked that every clone of an image has one size
      totalMiB += d.sizeMiB;
    }
  }
  // Thinly provisioned: room for every disk full plus DeDe's logs and index, but at most
  // MAX_VOLUME_MIB of data blocks (beyond that a write fails: a guest IO error).
  const geom = { ...defaultGeometry(Math.min(MAX_VOLUME_MIB, totalMiB + 16 + Math.ceil(totalMiB / 16))), inodes: Math.max(256, 4 * (vms.length * 16 + images.size) + 16) };
  const store = new MemoryStore(computeLayout(geom).totalSize);
  const volume = ClusterVolume.format(store, geom, { ctx: host.sim });
  const dedup = spec.storage?.dedup ? new DedupEngine(volume, { ctx: host.sim }) : undefined;
  const st: HostStorage = { hostName, store, volume, ...(dedup ? { dedup } : {}), disks: [], controllers: [], passes: [], notes: [] };
  for (const [image, sizeMiB] of [...images].sort(([a], [b]) => a.localeCompare(b))) installImage(st, image, sizeMiB, domainOf(domains, `image:${image}`));
  return st;
}

/** The base-image file name of `image`. */
function baseFile(image: string): string {
  return `base-${image}.vmdk`;
}

/** Installs base image `image`: a fresh vdisk in trust domain `domain` whose guest filesystem holds `os.bin` and `lib.bin`. */
function installImage(st: HostStorage, image: string, sizeMiB: number, domain: number): void {
  const disk = volumeDisk(st.volume, baseFile(image), { host: VOL_HOST, domain, blocks: sizeMiB * BLOCKS_PER_MIB, ...(st.dedup ? { dedup: st.dedup } : {}) });
  const seed = fnv(image);
  const kib = Math.max(4, Math.min(1024, Math.floor((sizeMiB * 1024) / 4)));
  // A scratch machine (its own clock) runs the installer, so the scenario's virtual time starts at 0.
  const scratch = new Host({ seed, machineMiB: 64 });
  scratch.boot();
  const g = bootGuest({ host: scratch, name: `install-${image}`, memoryMiB: 32, run: [`put os.bin ${seed % 100_000} ${kib} lib.bin ${(seed % 100_000) + 1} ${Math.max(4, kib >> 1)}`], programs: STORAGE_PROGRAMS, rootDisk: disk });
  scratch.tvmm.run({ untilNs: 600e9 });
  const vm = scratch.tvmm.vm(g.vmId);
  if (vm.state !== 'off' || g.kernel.panic !== undefined) throw new TerraError('INVALID_STATE', `installing image ${image} on the volume failed (${vm.state}${g.kernel.panic ? `, ${g.kernel.panic}` : ''})`);
  disk.flush();
}

/**
 * Attaches VM `v`'s disks (host storage `st`, VM `vmId` on `tvmm`): a linked clone of the image's
 * base file or a fresh file per disk, encrypted per the disk's `encrypted` (default: closed-box);
 * the first disk is the guest's 'root' (its filesystem) unless it is named 'swap' (its swap device).
 * Returns whether the VM got a swap disk from its scenario disks.
 */
export function attachVmDisks(st: HostStorage, host: Host, tvmm: Tvmm, v: ScenarioVm, vmId: VmId, domains: Map<string, number>): { swap: boolean } {
  let swap = false;
  v.disks.forEach((d, j) => {
    const encrypted = d.encrypted ?? v.kind === 'closed-box';
    const image = d.image ?? v.image;
    const domain = domainOf(domains, domainKey(v, image));
    // Numbered (unique, and short enough for the volume's 120-byte names: scenario names allow dots and 64 characters).
    const file = `d${st.disks.length}.${v.name}.vmdk`;
    const opts = { host: VOL_HOST, domain, ...(st.dedup ? { dedup: st.dedup } : {}) };
    let vdisk: VolumeBlockBackend;
    if (d.image !== undefined && !encrypted) {
      const base = volumeDisk(st.volume, baseFile(d.image), { host: VOL_HOST, domain: domainOf(domains, `image:${d.image}`) });
      st.volume.clone(VOL_HOST, base.ino, file, { domain });
      vdisk = volumeDisk(st.volume, file, opts);
    } else {
      vdisk = volumeDisk(st.volume, file, { ...opts, blocks: d.sizeMiB * BLOCKS_PER_MIB });
      if (d.image !== undefined) st.notes.push(`${v.name}/${d.name}: encrypted, so not a linked clone of image ${d.image} (every block is sealed under the VM's own key); it starts empty and shares no blocks`);
    }
    let backend: BlockBackend = vdisk;
    if (encrypted) {
      // The disk key is sealed to the TVMM's boot registers; the TVMM unseals it to open the disk.
      const { sealedKey } = createSealedDiskKey(host.rootOfTrust, host.sim.rng.fork(`sealed-disk-key/${v.name}/${d.name}`));
      const k = host.rootOfTrust.unseal(sealedKey);
      backend = ProtectedDisk.format(host.sim, P, vdisk, { cls: 'encrypted', key: k, diskId: `${v.name}/${d.name}` });
    }
    const role: RunnerDisk['role'] = j === 0 ? (d.name === 'swap' ? 'swap' : 'root') : 'data';
    if (role === 'swap') swap = true;
    tvmm.attachDisk(vmId, role === 'data' ? d.name : role, backend);
    st.disks.push({ vm: v.name, name: d.name, role, file, domain, ...(d.image !== undefined ? { image: d.image } : {}), encrypted, vdisk, backend });
  });
  return { swap };
}

/**
 * Gives VM `v`'s root disk a virtual SCSI controller per the host's `storage.vic` (vIC on/off,
 * `maxCif` → the largest coalescing factor; `timerUs` has no counterpart: vIC as modelled has no
 * delivery timer). Encrypted root disks keep the synchronous path (see the module comment).
 */
export function attachVmController(st: HostStorage, host: Host, tvmm: Tvmm, v: ScenarioVm, vmId: VmId, vic: { enabled: boolean; maxCif: number }): void {
  const root = st.disks.find((d) => d.vm === v.name && d.role === 'root');
  if (root === undefined) return;
  if (root.encrypted) {
    st.notes.push(`${v.name}: storage.vic: the encrypted root disk ${root.name} stays on the synchronous disk path (a controller would read and write the volume file beneath the encryption); no interrupts to coalesce`);
    return;
  }
  const ctl = volumeController(host.sim, root.vdisk, tvmm, vmId, { vector: SCSI_VECTOR, jitterNs: JITTER_NS, vic: { enabled: vic.enabled, maxCoalesce: vic.maxCif, epochNs: VIC_EPOCH_NS } });
  tvmm.attachController(vmId, 'root', ctl);
  st.controllers.push({ vm: v.name, vmId, disk: root.name, ctl });
}

/** Flushes every disk's DeDe records and runs one DeDe pass (no-op without dedup). */
export function dedupPass(st: HostStorage): void {
  if (!st.dedup) return;
  for (const d of st.disks) d.vdisk.flush();
  st.passes.push(st.dedup.pass(VOL_HOST));
}

/** Schedules a DeDe pass every `intervalMs` of virtual time on the host's event queue, up to `endMs`. */
export function scheduleDedup(st: HostStorage, host: Host, intervalMs: number, endMs: number): void {
  if (!st.dedup || intervalMs <= 0) return;
  for (let t = intervalMs; t < endMs; t += intervalMs) host.sim.events.at(t * NS_PER_MS, `dedup-pass/${st.hostName}`, () => dedupPass(st));
}

/** Logical and unique MiB of `disks` (see volumeSpace in src/storage). */
export const space = volumeSpace;

/** One row of the `dedup` measurement. */
export interface DedupMeasureRow {
  readonly host: string;
  /** A VM's name, or `null` for the whole volume (every VM disk on the host). */
  readonly vm: string | null;
  readonly disks: readonly string[];
  readonly logicalMiB: number;
  readonly uniqueMiB: number;
}

/** The `dedup` measurement of one host: per VM and for the volume, after the final pass. */
export function dedupRows(st: HostStorage): { rows: DedupMeasureRow[]; report: DedupRow[]; host: Record<string, unknown> } {
  const rows: DedupMeasureRow[] = [];
  const vms = [...new Set(st.disks.map((d) => d.vm))];
  for (const vm of vms) {
    const mine = st.disks.filter((d) => d.vm === vm);
    rows.push({ host: st.hostName, vm, disks: mine.map((d) => d.name), ...space(st.volume, mine.map((d) => d.vdisk)) });
  }
  rows.push({ host: st.hostName, vm: null, disks: st.disks.map((d) => `${d.vm}/${d.name}`), ...space(st.volume, st.disks.map((d) => d.vdisk)) });
  const report = rows.map((r) => ({ label: r.vm === null ? `${st.hostName}: all VM disks` : `${st.hostName}/${r.vm}`, logicalMiB: r.logicalMiB, uniqueMiB: r.uniqueMiB }));
  const fsck = checkVolume(st.store);
  const shared = st.passes.reduce((n, p) => n + p.shared, 0);
  return {
    rows,
    report,
    host: { host: st.hostName, enabled: st.dedup !== undefined, passes: st.passes.length, sharedBlocks: shared, skipped: st.passes.filter((p) => p.skipped !== undefined).length, fsck: { ok: fsck.ok, findings: fsck.findings.length } },
  };
}

/** One row of the `interrupts` measurement (a VM's root-disk controller). */
export interface InterruptMeasureRow {
  readonly host: string;
  readonly vm: string;
  readonly disk: string;
  readonly vic: boolean;
  readonly maxCoalesce: number;
  readonly completions: number;
  readonly interrupts: number;
  readonly coalesced: number;
  readonly maxInFlight: number;
  readonly interruptsPerCompletion: number;
  readonly addedLatencyUs: number;
  readonly iopsEstimate: number;
}

/** The `interrupts` measurement of one host's controllers. */
export function interruptRows(st: HostStorage): { rows: InterruptMeasureRow[]; report: InterruptRow[] } {
  const rows = st.controllers.map(({ vm, disk, ctl }) => {
    const s = ctl.stats();
    return {
      host: st.hostName, vm, disk, vic: ctl.vic.enabled, maxCoalesce: ctl.vic.maxCoalesce,
      completions: s.completed, interrupts: s.interrupts, coalesced: s.coalesced, maxInFlight: s.maxInFlight,
      interruptsPerCompletion: s.completed ? s.interrupts / s.completed : 0,
      addedLatencyUs: s.completed ? s.addedLatencyNs / s.completed / 1000 : 0,
      iopsEstimate: Math.round(ctl.iopsEstimate),
    };
  });
  return { rows, report: rows.map((r) => ({ cif: r.maxInFlight, vic: r.vic, label: `${r.vm}/${r.disk} (max ${r.maxInFlight} in flight)`, interruptsPerCompletion: r.interruptsPerCompletion, addedLatencyUs: r.addedLatencyUs })) };
}

/** Closes every disk of the host (flushes DeDe records, releases locks). */
export function closeDisks(st: HostStorage): void {
  for (const d of st.disks) d.vdisk.close();
}
