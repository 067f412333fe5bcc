/**
 * The scenario file format (issue 7): hosts, VMs (Terra open-box / closed-box, ESX shares and
 * min/max), programs from the built-in guest library (optionally cloaked, Overshadow), adversaries
 * from a fixed list of kinds, and what to measure. Units: memory in MiB, virtual time in ms.
 * The schema is plain data; the runner (src/cli) maps it onto Host/Tvmm and the engines.
 * Published as JSON Schema at docs/scenario.schema.json (scripts/gen-schema.ts).
 */
import { z } from 'zod';

/** Version of the scenario format this module reads. */
export const SCENARIO_VERSION = 1;

/** Adversary kinds, each mapped to a threat-catalogue scenario the runner stages. */
export const ADVERSARY_KINDS = [
  'rootkit-dump',
  'bit-flip',
  'page-replay',
  'page-flip',
  'swap-substitute',
  'first-touch-inject',
  'register-tamper',
  'syscall-lie',
  'mgmt-inspect',
  'disk-tamper',
  'balloon-hog',
] as const;

/** What each adversary kind does (documentation, `terracloak run --help`, the JSON Schema). */
export const ADVERSARY_DESCRIPTIONS: Readonly<Record<AdversaryKind, string>> = {
  'rootkit-dump': 'compromised kernel reads the cloaked app\'s pages through its own view (CLK-01)',
  'bit-flip': 'compromised kernel flips bits in an encrypted cloaked page (CLK-02)',
  'page-replay': 'compromised kernel writes back an older authentic ciphertext of a page (CLK-03)',
  'page-flip': 'compromised kernel swaps the page-table entries of two cloaked pages (CLK-04)',
  'swap-substitute': 'compromised kernel swaps a cloaked page out and returns another page in its place (CLK-08)',
  'first-touch-inject': 'compromised kernel fills a fresh page with attacker bytes before the app touches it (CLK-07)',
  'register-tamper': 'compromised kernel edits the saved registers of a cloaked thread at a trap',
  'syscall-lie': 'compromised kernel returns hostile system-call results (Iago attacks)',
  'mgmt-inspect': 'the management VM tries to read a VM\'s memory and registers (ISO)',
  'disk-tamper': 'the host flips bytes in a VM\'s virtual disk file (STO/ATT)',
  'balloon-hog': 'a guest ignores balloon targets and touches all its memory (MEM)',
};

/** Adversaries whose target is a cloaked program (the runner needs a cloaked victim). */
export const CLOAK_ADVERSARIES: readonly AdversaryKind[] = [
  'rootkit-dump', 'bit-flip', 'page-replay', 'page-flip', 'swap-substitute', 'first-touch-inject', 'register-tamper',
];

/** Measurements a scenario can ask for (each one is a report section). */
export const MEASUREMENTS = ['memory', 'sharing', 'ballooning', 'interrupts', 'dedup', 'attacks', 'attestation', 'trace'] as const;

/** An adversary kind. */
export type AdversaryKind = (typeof ADVERSARY_KINDS)[number];
/** A measurement name. */
export type Measurement = (typeof MEASUREMENTS)[number];

/** Longest virtual run a scenario may ask for (ms): ten virtual minutes. */
export const MAX_DURATION_MS = 600_000;

const NAME_RE = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
const name = (what: string) =>
  z.string().regex(NAME_RE, { error: `expected a ${what} name: a letter, then letters, digits, '.', '_' or '-' (at most 64)` });
const ms = (what: string) =>
  z.number().min(0).max(MAX_DURATION_MS).describe(`${what} (virtual ms, 0…${MAX_DURATION_MS})`);

/** Memory-manager policy of a host (ESX OSDI'02). */
export const HostMemorySchema = z
  .strictObject({
    sharing: z.boolean().default(true).describe('content-based page sharing (§4)'),
    ballooning: z.boolean().default(true).describe('balloon driver reclamation (§3.2)'),
    swap: z.boolean().default(true).describe('host swapping as the last resort (§3.3)'),
    idleTax: z.number().min(0).max(0.99).default(0.75).describe('idle memory tax rate τ (§5.3)'),
    scanPagesPerSec: z.number().int().min(0).max(1_000_000).optional().describe('page-sharing scan rate'),
  })
  .describe('memory-manager policy');

/** vIC policy of a host's virtual SCSI controllers (Ahmad et al., ATC'11). */
export const VicSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Coalescing interrupt factor cap. */
    maxCif: z.number().int().min(1).max(64).default(8).describe('largest coalescing factor'),
    /** Timer bound on the delay a completion may see. */
    timerUs: z.number().min(1).max(100_000).default(200).describe('delivery deadline (virtual µs)'),
  })
  .describe('virtual interrupt coalescing');

/** Storage policy of a host: DeDe (Clements et al., ATC'09) and vIC. */
export const HostStorageSchema = z
  .strictObject({
    dedup: z.boolean().default(false).describe('out-of-band block deduplication (DeDe)'),
    dedupIntervalMs: ms('dedup pass interval').optional(),
    vic: VicSchema.optional(),
  })
  .describe('storage policy');

/** One simulated machine. */
export const HostSchema = z
  .strictObject({
    name: name('host'),
    machineMiB: z.number().int().min(16).max(262_144).describe('machine memory (MiB)'),
    cpus: z.number().int().min(1).max(256).default(2),
    seed: z.number().int().min(0).max(0xffffffff).optional().describe('overrides the scenario seed for this host'),
    memory: HostMemorySchema.optional(),
    storage: HostStorageSchema.optional(),
  })
  .describe('a simulated machine');

/** A virtual disk. */
export const DiskSchema = z
  .strictObject({
    name: name('disk'),
    sizeMiB: z.number().int().min(1).max(65_536),
    image: name('image').optional().describe('base image the disk is cloned from (shared blocks dedup)'),
    encrypted: z.boolean().optional().describe('Terra sealed disk (default: true for closed-box VMs)'),
  })
  .describe('a virtual disk');

/** A program from the built-in guest library. */
export const ProgramSchema = z
  .strictObject({
    name: name('program').describe('a program in the built-in library (BUILTIN_PROGRAMS)'),
    argv: z.array(z.string().max(4096)).max(64).default([]),
    cloaked: z.boolean().default(false).describe('run under Overshadow cloaking'),
    startMs: ms('start time').default(0),
  })
  .describe('a guest program to run');

/** A virtual machine. */
export const VmSchema = z
  .strictObject({
    name: name('VM'),
    host: name('host').optional().describe('host name (default: the first host)'),
    kind: z.enum(['open-box', 'closed-box']).describe('Terra: open-box is inspectable, closed-box is opaque'),
    memoryMiB: z.number().int().min(1).max(4096).describe('configured guest memory (MiB)'),
    vcpus: z.number().int().min(1).max(64).default(1),
    shares: z.number().int().min(1).max(1_000_000).default(1000).describe('ESX proportional shares'),
    minMiB: z.number().int().min(0).max(4096).optional().describe('ESX min: guaranteed memory (MiB)'),
    maxMiB: z.number().int().min(1).max(4096).optional().describe('ESX max: cap on machine memory (MiB, ≤ memoryMiB)'),
    image: name('image').optional().describe('guest image; VMs with one image share pages and disk blocks'),
    attest: z.boolean().default(false).describe('attest the VM to a remote verifier (Terra)'),
    disks: z.array(DiskSchema).max(16).default([]),
    programs: z.array(ProgramSchema).max(64).default([]),
  })
  .describe('a virtual machine');

/** An adversary staged against a VM. */
export const AdversarySchema = z
  .strictObject({
    kind: z.enum(ADVERSARY_KINDS).describe(ADVERSARY_KINDS.map((k) => `${k}: ${ADVERSARY_DESCRIPTIONS[k]}`).join('; ')),
    vm: name('VM').describe('the victim VM'),
    target: name('program').optional().describe('the victim program (required for cloaking attacks)'),
    atMs: ms('when the attack starts').default(0),
  })
  .describe('an adversary');

const ScenarioBase = z.strictObject({
  $schema: z.string().max(1024).optional().describe('editor hint; ignored'),
  version: z.literal(SCENARIO_VERSION).describe('format version'),
  name: name('scenario'),
  description: z.string().max(4096).optional(),
  seed: z.number().int().min(0).max(0xffffffff).default(1),
  durationMs: z.number().gt(0).max(MAX_DURATION_MS).describe('virtual run time (ms)'),
  hosts: z.array(HostSchema).min(1).max(16),
  vms: z.array(VmSchema).min(1).max(256),
  adversaries: z.array(AdversarySchema).max(64).default([]),
  measure: z.array(z.enum(MEASUREMENTS)).max(MEASUREMENTS.length).default(['memory']),
});

type Base = z.output<typeof ScenarioBase>;

function dupes(xs: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const d = new Set<string>();
  for (const x of xs) (seen.has(x) ? d : seen).add(x);
  return d;
}

/** Cross-field rules: references resolve, names are unique, memory fits, times are inside the run. */
function crossCheck(s: Base, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message, input: undefined });
  const hostNames = s.hosts.map((h) => h.name);
  for (const d of dupes(hostNames)) issue(['hosts', hostNames.lastIndexOf(d), 'name'], `duplicate host name ${JSON.stringify(d)}`);
  const vmNames = s.vms.map((v) => v.name);
  for (const d of dupes(vmNames)) issue(['vms', vmNames.lastIndexOf(d), 'name'], `duplicate VM name ${JSON.stringify(d)}`);
  const reserved = new Map<string, number>();
  s.vms.forEach((vm, i) => {
    const host = vm.host ?? s.hosts[0]?.name;
    if (vm.host !== undefined && !hostNames.includes(vm.host)) issue(['vms', i, 'host'], `expected one of the hosts [${hostNames.join(', ')}], got ${JSON.stringify(vm.host)}`);
    const max = vm.maxMiB ?? vm.memoryMiB;
    if (vm.maxMiB !== undefined && vm.maxMiB > vm.memoryMiB) issue(['vms', i, 'maxMiB'], `expected at most memoryMiB (${vm.memoryMiB}), got ${vm.maxMiB}`);
    if (vm.minMiB !== undefined && vm.minMiB > max) issue(['vms', i, 'minMiB'], `expected at most ${vm.maxMiB !== undefined ? 'maxMiB' : 'memoryMiB'} (${max}), got ${vm.minMiB}`);
    if (host !== undefined) reserved.set(host, (reserved.get(host) ?? 0) + (vm.minMiB ?? 0));
    const diskNames = vm.disks.map((d) => d.name);
    for (const d of dupes(diskNames)) issue(['vms', i, 'disks', diskNames.lastIndexOf(d), 'name'], `duplicate disk name ${JSON.stringify(d)} in VM ${vm.name}`);
    vm.programs.forEach((p, j) => {
      if (p.startMs >= s.durationMs) issue(['vms', i, 'programs', j, 'startMs'], `expected less than durationMs (${s.durationMs}), got ${p.startMs}`);
    });
  });
  s.hosts.forEach((h, i) => {
    const r = reserved.get(h.name) ?? 0;
    if (r > h.machineMiB) issue(['hosts', i, 'machineMiB'], `the VMs' minMiB add up to ${r} MiB, more than this host's ${h.machineMiB} MiB (admission control would refuse them)`);
  });
  s.adversaries.forEach((a, i) => {
    const vm = s.vms.find((v) => v.name === a.vm);
    if (!vm) {
      issue(['adversaries', i, 'vm'], `expected one of the VMs [${vmNames.join(', ')}], got ${JSON.stringify(a.vm)}`);
      return;
    }
    if (a.atMs >= s.durationMs) issue(['adversaries', i, 'atMs'], `expected less than durationMs (${s.durationMs}), got ${a.atMs}`);
    const progs = vm.programs.map((p) => p.name);
    if (a.target !== undefined && !progs.includes(a.target))
      issue(['adversaries', i, 'target'], `expected a program of VM ${vm.name} [${progs.join(', ')}], got ${JSON.stringify(a.target)}`);
    if (CLOAK_ADVERSARIES.includes(a.kind)) {
      if (a.target === undefined) issue(['adversaries', i, 'target'], `expected the name of a cloaked program of VM ${vm.name} (${a.kind} attacks a cloaked app)`);
      else if (progs.includes(a.target) && !vm.programs.some((p) => p.name === a.target && p.cloaked))
        issue(['adversaries', i, 'target'], `expected a cloaked program (${a.kind} attacks a cloaked app), but ${a.target} is not cloaked`);
    }
  });
  if (s.measure.includes('attestation') && !s.vms.some((v) => v.attest))
    issue(['measure'], `"attestation" needs a VM with attest: true`);
  for (const d of dupes(s.measure)) issue(['measure'], `duplicate measurement ${JSON.stringify(d)}`);
}

/** The zod schema of a scenario file (input: what a user writes; output: with defaults filled). */
export const ScenarioSchema = ScenarioBase.superRefine(crossCheck).describe('a terracloak scenario');

/** A validated scenario, defaults filled in. */
export type Scenario = z.output<typeof ScenarioSchema>;
/** What a scenario file may contain (before defaults). */
export type ScenarioInput = z.input<typeof ScenarioSchema>;
/** A validated host. */
export type ScenarioHost = Scenario['hosts'][number];
/** A validated VM. */
export type ScenarioVm = Scenario['vms'][number];
/** A validated program entry. */
export type ScenarioProgram = ScenarioVm['programs'][number];
/** A validated adversary. */
export type ScenarioAdversary = Scenario['adversaries'][number];
