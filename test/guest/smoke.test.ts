import { describe, expect, it } from 'vitest';
import { bootGuest } from '../../src/guest/index.js';

describe('smoke', () => {
  it('boots init with programs', () => {
    const g = bootGuest({ run: ['compute 200', 'syscall-heavy 20', 'file-io a.bin 8', 'fork-exec'] });
    const r = g.tvmm.run({ untilNs: 5e9 });
    console.log(r, g.kernel.panic, g.tvmm.consoleLines.map((l) => l.line), g.kernel.stats);
  });
});
