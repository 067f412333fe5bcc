/** Boots a VM whose guest kernel only captures the platform, for tests that drive it directly. */
import { Host, type GuestPlatform, type VmKind } from '../../src/tvmm/index.js';

export function capturePlatform(opts: { seed?: number; machineMiB?: number; memoryMiB?: number; kind?: VmKind } = {}) {
  const host = new Host({ seed: opts.seed ?? 1, machineMiB: opts.machineMiB ?? 64 });
  const tvmm = host.boot();
  let platform!: GuestPlatform;
  const id = tvmm.createVm({
    name: 'captured',
    kind: opts.kind ?? 'open-box',
    memoryMiB: opts.memoryMiB ?? 4,
    guest: { boot: (p) => void (platform = p), interrupt: () => {}, run: () => 'idle' },
  });
  tvmm.power(id, 'on');
  tvmm.run({ maxSlices: 1 });
  return { host, tvmm, id, platform };
}
