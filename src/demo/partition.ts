/**
 * Demo stage: Terra's partitions (SOSP'03 §3). An open-box and a closed-box VM run guest programs
 * on one TVMM; the management VM rebuilds the open-box VM's process list from its raw memory (VM
 * introspection, Livewire NDSS'03) and is refused, with an audit event, on the closed-box VM.
 */
import { bootGuest, introspect } from '../guest/index.js';
import { TerraError, NS_PER_MS } from '../sim/index.js';
import type { StageResult } from './types.js';

/** Runs the partition stage. */
export function partitionStage(seed: number): StageResult {
  const web = bootGuest({ seed, machineMiB: 128, memoryMiB: 16, kind: 'open-box', name: 'web', run: ['compute 300', 'syscall-heavy 50', 'file-io notes.txt 8', 'idle 20 10'] });
  const { host, tvmm } = web;
  const bank = bootGuest({ host, memoryMiB: 16, kind: 'closed-box', name: 'bank', run: ['compute 200', 'idle 5 3'] });
  tvmm.run({ untilNs: 20 * NS_PER_MS });
  const intro = introspect((gpa, len) => tvmm.management.readMemory(web.vmId, gpa, len));
  const procs = intro.processes.map((p) => `${p.pid}:${p.name}(${p.state})`);
  const regs = tvmm.management.readRegisters(web.vmId);
  let refusals = 0;
  const refused: string[] = [];
  for (const [what, f] of [
    ['memory', () => tvmm.management.readMemory(bank.vmId, 0, 4096)],
    ['registers', () => tvmm.management.readRegisters(bank.vmId)],
    ['threads', () => tvmm.management.threads(bank.vmId)],
  ] as const) {
    try {
      f();
    } catch (e) {
      if (e instanceof TerraError && e.code === 'ISOLATION_VIOLATION') {
        refusals++;
        refused.push(what);
      } else throw e;
    }
  }
  tvmm.run({ untilNs: 200 * NS_PER_MS });
  const audit = host.sim.trace.securityEvents().filter((e) => e.kind === 'mgmt.inspect.refused').length;
  const ok = refusals === 3 && audit === 3 && procs.length > 0;
  return {
    id: 'partition',
    title: 'Terra: open-box and closed-box VMs on one trusted VMM',
    lines: [
      `Booted a TVMM on a ${host.machine.frames / 256} MiB machine with two VMs: "web" (open-box) and "bank" (closed-box).`,
      `The management VM read web's raw memory and rebuilt its process list by introspection: ${procs.join(', ')}.`,
      `It read web's vCPU registers (pc=0x${regs.pc.toString(16)}, r0=${regs.r0}).`,
      `On bank it was refused ${refusals} times (${refused.join(', ')}): TerraError ISOLATION_VIOLATION, each with an audit event (${audit} recorded).`,
      `Guest consoles printed ${tvmm.consoleLines.length} lines; every memory access went through the shadow MMU (${tvmm.mmu.stats.walks} page walks, ${tvmm.mmu.stats.tracedWrites} traced page-table writes).`,
    ],
    summary: [
      { stage: 'partition', mechanism: 'open-box introspection', result: `${procs.length} processes rebuilt from raw memory`, ok: procs.length > 0 },
      { stage: 'partition', mechanism: 'closed-box isolation', result: `${refusals}/3 inspections refused, ${audit} audit events`, ok: refusals === 3 && audit === 3 },
    ],
    data: { processes: intro.processes.map((p) => ({ pid: p.pid, name: p.name, state: p.state })), refused, auditEvents: audit, walks: tvmm.mmu.stats.walks, ok },
    report: { summary: [{ label: 'Closed-box inspections refused', value: `${refusals}/3`, status: refusals === 3 ? 'ok' : 'bad' }] },
    events: host.sim.trace.events(),
    traceDigest: host.sim.trace.digest(),
  };
}
