import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Proc, ProgramFn } from '../../src/tvmm/index.js';
import { libc as c } from '../../src/guest/index.js';
import { bootMain } from './helpers.js';

type Op = { k: 'write'; page: number; value: number } | { k: 'fork' } | { k: 'check' } | { k: 'yield' };
const PAGES = 56;

const arbOps = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ k: fc.constant('write' as const), page: fc.integer({ min: 0, max: PAGES - 1 }), value: fc.integer({ min: 1, max: 0xffffffff }) }) },
    { weight: 1, arbitrary: fc.constant({ k: 'fork' as const }) },
    { weight: 2, arbitrary: fc.constant({ k: 'check' as const }) },
    { weight: 1, arbitrary: fc.constant({ k: 'yield' as const }) },
  ),
  { minLength: 1, maxLength: 60 },
);

/** Runs `ops` from index `i` against the model; forks run the rest in a child with a copy of the model. */
function* interpret(p: Proc, base: number, ops: Op[], i: number, model: number[], forks: number, bad: string[], who: string): c.Sys<void> {
  const kids: number[] = [];
  // each process writes its own values, so a write leaking to a sibling is visible
  let salt = 0;
  for (let k = 0; k < who.length; k++) salt = Math.imul(salt ^ who.charCodeAt(k), 0x01000193) >>> 0;
  for (let j = i; j < ops.length; j++) {
    const op = ops[j];
    if (op.k === 'write') {
      const v = (op.value ^ salt) >>> 0;
      p.store32(base + op.page * 4096 + 4 * (op.page % 7), v);
      model[op.page] = v;
    } else if (op.k === 'check') {
      for (let pg = 0; pg < PAGES; pg++) {
        const v = p.load32(base + pg * 4096 + 4 * (pg % 7));
        if (v !== model[pg]) bad.push(`${who} op ${j} page ${pg}: ${v} != ${model[pg]}`);
      }
    } else if (op.k === 'yield') yield* c.yieldCpu(p);
    else if (forks < 3) {
      const copy = [...model];
      const rest = j + 1;
      const pid = yield* c.fork(p, function* (ch) {
        yield* interpret(ch, base, ops, rest, copy, forks + 1, bad, `${who}.${j}`);
        return 0;
      });
      if (pid > 0) kids.push(pid);
      else bad.push(`fork failed ${pid}`);
      forks++;
    }
  }
  for (let pg = 0; pg < PAGES; pg++) {
    const v = p.load32(base + pg * 4096 + 4 * (pg % 7));
    if (v !== model[pg]) bad.push(`${who} final page ${pg}: ${v} != ${model[pg]}`);
  }
  for (const k of kids) yield* c.waitpid(p, k);
}

function freeAfter(main: ProgramFn): { free: number; bad: string[]; swapOuts: number } {
  const g = bootMain(main, { pages: 96, swapDiskBlocks: 2048, kernel: { haltWhenDone: false, reservePages: 24 } });
  g.tvmm.run({ untilNs: 60e9 });
  return { free: g.kernel.freePageCount(), bad: [], swapOuts: g.kernel.stats.swapOuts };
}

describe('copy-on-write fork under guest swap, against a model', () => {
  it('every process reads what it wrote (never a sibling\'s write), and no page leaks once all exit', () => {
    const baseline = freeAfter(function* () {
      return 0;
    }).free;
    let swapped = 0;
    fc.assert(
      fc.property(arbOps, (ops) => {
        const bad: string[] = [];
        const r = freeAfter(function* (p) {
          const base = yield* c.mmap(p, PAGES * 4096);
          for (let pg = 0; pg < PAGES; pg++) p.store32(base + pg * 4096 + 4 * (pg % 7), 0);
          yield* interpret(p, base, ops, 0, new Array(PAGES).fill(0), 0, bad, 'p');
          return 0;
        });
        swapped += r.swapOuts;
        expect(bad).toEqual([]);
        expect(r.free).toBe(baseline);
      }),
      { seed: 7, numRuns: 60 },
    );
    expect(swapped).toBeGreaterThan(0);
  });
});
