/** Test helpers for the guest OS: boot a VM whose init is one test program, run it to completion. */
import type { ProgramFn } from '../../src/tvmm/index.js';
import { bootGuest, type BootGuestOptions, type BootedGuest } from '../../src/guest/index.js';

/** Boots (without running) a guest whose first process (pid 1) runs `main`. */
export function bootMain(main: ProgramFn, opts: BootGuestOptions = {}): BootedGuest {
  return bootGuest({ ...opts, programs: { main, ...opts.programs }, kernel: { init: 'main', ...opts.kernel } });
}

/** Console lines of one VM. */
export function consoleOf(g: BootedGuest): string[] {
  return g.tvmm.consoleLines.filter((l) => l.vm === g.vmId).map((l) => l.line);
}

/** Boots a guest whose first process (pid 1) runs `main`, runs until it halts or `untilNs`. */
export function runMain(main: ProgramFn, opts: BootGuestOptions & { untilNs?: number } = {}): BootedGuest & { console: string[] } {
  const g = bootMain(main, opts);
  g.tvmm.run({ untilNs: opts.untilNs ?? 60e9 });
  return { ...g, console: consoleOf(g) };
}
