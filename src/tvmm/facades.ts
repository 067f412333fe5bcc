/**
 * Guest-facing facades. Each keeps its TVMM reference in a private field, so nothing reachable
 * from the object by property access leads to frames, pmaps, metadata or keys.
 */
import { checkBytes, checkInt, lockClass, PAGE_SIZE, type Gppn, type VmId } from '../sim/index.js';
import { PageState, type MemoryManager } from '../memory/index.js';
import { KERNEL_DOMAIN, type MmuContext, type ShadowMmu } from './mmu.js';
import type { GuestMemory, PhysMemory } from './guest-interface.js';

function addr(name: string, a: unknown): number {
  if (typeof a !== 'number' || (a >>> 0) !== a || Object.is(a, -0)) checkInt(name, a, 0, 0xffffffff);
  return a as number;
}

/** A kernel-mode view of one address space. */
export class KernelSpace implements GuestMemory {
  readonly #ctx: () => MmuContext;
  constructor(ctx: () => MmuContext) {
    this.#ctx = ctx;
    // The TVMM itself calls these facades' methods: no guest may shadow them on its instance.
    Object.freeze(this);
  }
  load8(gva: number): number {
    return this.#ctx().load8(addr('gva', gva));
  }
  load32(gva: number): number {
    return this.#ctx().load32(addr('gva', gva));
  }
  store8(gva: number, v: number): void {
    this.#ctx().store8(addr('gva', gva), checkInt('value', v, 0, 255));
  }
  store32(gva: number, v: number): void {
    this.#ctx().store32(addr('gva', gva), checkInt('value', v, 0, 0xffffffff));
  }
  read(gva: number, len: number): Uint8Array {
    addr('gva', gva);
    checkInt('len', len, 0, 1 << 26);
    if (gva + len > 2 ** 32) throw new RangeError('read crosses the end of the address space');
    return this.#ctx().read(gva, len);
  }
  write(gva: number, data: Uint8Array): void {
    addr('gva', gva);
    const d = checkBytes('data', data).slice();
    if (gva + d.length > 2 ** 32) throw new RangeError('write crosses the end of the address space');
    this.#ctx().write(gva, d);
  }
}

/** Guest-physical memory, kernel view (cloaked pages are ciphertext here). */
export class PhysView implements PhysMemory {
  readonly pages: number;
  readonly #mm: MemoryManager;
  readonly #mmu: ShadowMmu;
  readonly #vm: VmId;
  readonly #halted: () => boolean;
  constructor(mm: MemoryManager, mmu: ShadowMmu, vm: VmId, halted: () => boolean) {
    this.#mm = mm;
    this.#mmu = mmu;
    this.#vm = vm;
    this.pages = mm.pmap(vm).pages;
    this.#halted = halted;
    Object.freeze(this);
  }
  #page(gpa: number, len: number, write: boolean): { view: Uint8Array; off: number; g: Gppn } {
    if (this.#halted()) throw new RangeError('the VM is halted');
    const g = Math.floor(gpa / PAGE_SIZE);
    const off = gpa % PAGE_SIZE;
    if (g >= this.pages) throw new RangeError(`guest-physical address 0x${gpa.toString(16)} is beyond the VM's memory`);
    if (off + len > PAGE_SIZE) throw new RangeError('access crosses a page boundary');
    const st = this.#mm.pmap(this.#vm).state[g];
    if (st & PageState.CLOAKED) this.#mmu.cloak?.prepare(this.#vm, g as Gppn, KERNEL_DOMAIN, write);
    const m = this.#mm.resolve(this.#vm, g as Gppn, write);
    return { view: this.#mm.machine.bytes(m), off, g: g as Gppn };
  }
  #afterWrite(g: Gppn): void {
    if (this.#mm.pmap(this.#vm).state[g] & PageState.TRACED) {
      // The kernel's page-table writes are the traced writes of Adams & Agesen (ASPLOS'06 §2.2):
      // each one costs the VMM's trace handling, as the same write through a virtual address does.
      this.#mmu.stats.tracedWrites++;
      this.#mmu.ctx.clock.advance(this.#mmu.ctx.costs.tracedPteWrite);
      this.#mmu.invalidateGppn(this.#vm, g);
    }
  }
  load32(gpa: number): number {
    addr('gpa', gpa);
    const { view, off } = this.#page(gpa, 4, false);
    return (view[off] | (view[off + 1] << 8) | (view[off + 2] << 16) | (view[off + 3] << 24)) >>> 0;
  }
  store32(gpa: number, v: number): void {
    addr('gpa', gpa);
    checkInt('value', v, 0, 0xffffffff);
    const { view, off, g } = this.#page(gpa, 4, true);
    view[off] = v & 0xff;
    view[off + 1] = (v >>> 8) & 0xff;
    view[off + 2] = (v >>> 16) & 0xff;
    view[off + 3] = v >>> 24;
    this.#afterWrite(g);
  }
  read(gpa: number, len: number): Uint8Array {
    addr('gpa', gpa);
    checkInt('len', len, 0, 1 << 26);
    const out = new Uint8Array(len);
    for (let done = 0; done < len; ) {
      const a = gpa + done;
      const n = Math.min(len - done, PAGE_SIZE - (a % PAGE_SIZE));
      const { view, off } = this.#page(a, n, false);
      out.set(view.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }
  write(gpa: number, data: Uint8Array): void {
    addr('gpa', gpa);
    const d = checkBytes('data', data).slice();
    for (let done = 0; done < d.length; ) {
      const a = gpa + done;
      const n = Math.min(d.length - done, PAGE_SIZE - (a % PAGE_SIZE));
      const { view, off, g } = this.#page(a, n, true);
      view.set(d.subarray(done, done + n), off);
      this.#afterWrite(g);
      done += n;
    }
  }
  zeroPage(gppn: number): void {
    checkInt('gppn', gppn, 0, this.pages - 1);
    const { view, g } = this.#page(gppn * PAGE_SIZE, PAGE_SIZE, true);
    view.fill(0);
    this.#afterWrite(g);
  }
}

// Every VM's kernel gets instances of these classes: their shared prototypes must not be writable by
// one guest (a patched PhysView.prototype.read ran with another VM's facade as `this`).
lockClass(KernelSpace);
lockClass(PhysView);
