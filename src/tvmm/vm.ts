/**
 * A virtual machine (Terra SOSP'03 §3: open-box or closed-box). TVMM-internal record; users and
 * the management VM see {@link VmInfo} copies only.
 */
import type { VmId } from '../sim/index.js';
import type { GuestOs, ProgramFn } from './guest-interface.js';
import type { VmState } from './lifecycle.js';
import { Vcpu } from './vcpu.js';
import type { Executor } from './exec.js';

/** Open-box VMs are inspectable by the management VM; closed-box VMs are opaque (Terra §3). */
export type VmKind = 'open-box' | 'closed-box';
export const VM_KINDS = ['open-box', 'closed-box'] as const;

/** A copy of a VM's public description. */
export interface VmInfo {
  readonly id: VmId;
  readonly name: string;
  readonly kind: VmKind;
  readonly state: VmState;
  readonly pages: number;
  readonly vcpus: number;
  readonly haltReason?: string;
  readonly devices: readonly string[];
}

/** TVMM-internal VM record. */
export class Vm {
  state: VmState = 'created';
  haltReason: string | undefined;
  readonly vcpus: Vcpu[];
  readonly pendingIrqs: number[] = [];
  readonly devices = new Set<string>();
  booted = false;
  idle = false;
  executor!: Executor;
  /** Virtual ns of CPU this VM consumed. */
  cpuNs = 0;

  constructor(
    readonly id: VmId,
    readonly name: string,
    readonly kind: VmKind,
    readonly pages: number,
    vcpus: number,
    readonly guest: GuestOs,
    readonly programs: Map<string, ProgramFn>,
  ) {
    this.vcpus = Array.from({ length: vcpus }, (_, i) => new Vcpu(i));
  }

  /** The public description (a copy). */
  info(): VmInfo {
    return Object.freeze({
      id: this.id,
      name: this.name,
      kind: this.kind,
      state: this.state,
      pages: this.pages,
      vcpus: this.vcpus.length,
      ...(this.haltReason ? { haltReason: this.haltReason } : {}),
      devices: Object.freeze([...this.devices].sort()),
    });
  }
}
