/** src/tvmm: Host, Tvmm, VMs, vCPUs, the shadow MMU, hypercalls, scheduler, management interface. */
export * from './host.js';
export * from './tvmm.js';
export * from './vm.js';
export * from './vcpu.js';
export * from './lifecycle.js';
export * from './mmu.js';
export * from './hypercalls.js';
export * from './guest-interface.js';
export { Executor, ThreadKilled, type ExecHooks, type Caller, type UserChannel, type ThreadRec } from './exec.js';
export { KernelSpace, PhysView } from './facades.js';
export * from './disk.js';
export { addressSpaceCap, AddressSpaceBudget, MIN_ADDRESS_SPACES, MAX_ADDRESS_SPACES, MAX_THREADS_PER_VM } from './spaces.js';
import * as self from './index.js';
import { lockExportedClasses } from '../sim/index.js';

// Guests can import this module: its classes (Tvmm, ShadowMmu, Executor, …) must not be patchable.
lockExportedClasses(self);
