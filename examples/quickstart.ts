import { bootGuest, attachCloaking, libc, type ProgramFn } from '../src/index.js';

// A program whose secret the guest kernel must not read: it keeps it in its heap.
const keeper: ProgramFn = function* (p) {
  const buf = yield* libc.malloc(p, 4096);
  p.write(buf, new TextEncoder().encode('hunter2'));
  yield* libc.sleep(p, 1_000_000); // the (untrusted) kernel runs meanwhile
  const intact = new TextDecoder().decode(p.read(buf, 7)) === 'hunter2';
  yield* libc.puts(p, intact ? 'secret intact' : 'secret corrupted');
  return 0;
};

// A 256 MiB machine, its TVMM (measured at boot), one VM running the untrusted guest kernel.
const { host, tvmm } = bootGuest({ seed: 42, machineMiB: 256, memoryMiB: 16, programs: { keeper }, run: ['keeper'] });
const cloak = attachCloaking(tvmm, { cloakPrograms: ['keeper'] }); // Overshadow

tvmm.run({ untilNs: 50_000_000 }); // 50 ms of virtual time
console.log(tvmm.consoleLines.map((l) => l.line)); // [ 'kernel: 4096 pages, fs ram', 'secret intact' ]
console.log(cloak.stats().encryptions, host.sim.trace.digest()); // same seed → same digest
