/**
 * Red team: a malicious user program (not the kernel) against the executor. A program is arbitrary
 * code: it can yield values no Proc method produced, throw values that throw when inspected, be a
 * function that is not a generator, pass objects with valueOf where numbers belong. Each of these
 * must cost at most its own thread (SIGILL); none may halt the VM (killing every other process),
 * make the TVMM call back into the program through coercion, or leave a half-created thread.
 */
import { describe, expect, it } from 'vitest';
import { libc as c } from '../../src/guest/index.js';
import { InvariantError, TerraError, invariantError, isGenuineInvariant, type ProgramFn, type TrapRequest } from '../../src/index.js';
import { runMain } from '../guest/helpers.js';

/** Runs `evil` as a child of a parent that waits for it and then writes "survivor" on the console. */
function runAsChild(evil: ProgramFn) {
  const g = runMain(
    function* (p) {
      const pid = yield* c.fork(p, function* (child) {
        return yield* c.exec(child, 'evil', []);
      });
      const w = yield* c.waitpid(p, pid);
      yield* c.puts(p, `survivor: child status ${JSON.stringify(w)}`);
      return 0;
    },
    { programs: { evil } },
  );
  const info = g.tvmm.vm(g.vmId);
  return { g, info, survived: g.console.some((l) => l.startsWith('survivor')) };
}

/** A value whose every inspection throws. */
function poison(): unknown {
  const boom = () => {
    throw new TerraError('VM_HALTED', 'forged');
  };
  return new Proxy({}, { getPrototypeOf: boom, get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom });
}

const forged: Record<string, () => unknown> = {
  'a getter on kind that throws a TerraError': () => ({ get kind() { throw new TerraError('VM_HALTED', 'forged'); } }),
  'a Proxy request': poison,
  'a non-object': () => 42,
  'an unknown kind': () => ({ kind: 'hypercall', nr: 1 }),
  'a string syscall number': () => ({ kind: 'syscall', nr: '20', args: [] }),
  'a fractional syscall number': () => ({ kind: 'syscall', nr: 20.5, args: [] }),
  'arguments that are not an array': () => ({ kind: 'syscall', nr: 20, args: { length: 1, 0: 1 } }),
  'six arguments': () => ({ kind: 'syscall', nr: 20, args: [1, 2, 3, 4, 5, 6] }),
  'a negative argument': () => ({ kind: 'syscall', nr: 20, args: [-1] }),
  'a continuation that is not a function': () => ({ kind: 'syscall', nr: 57, args: [], cont: 42 }),
};

describe('a program that yields something no Proc method produced dies alone', () => {
  for (const [what, make] of Object.entries(forged)) {
    it(what, () => {
      const { g, info, survived } = runAsChild(function* () {
        yield make() as TrapRequest;
        return 0;
      });
      expect(info.state, info.haltReason).not.toBe('halted');
      expect(survived).toBe(true);
      // Killed (SIGILL for a malformed request, SIGKILL when the request threw a TerraError), never exited normally.
      expect(g.console.find((l) => l.startsWith('survivor'))).not.toMatch(/"status":0\b|child status 0\b/);
    });
  }

  it('never coerces what a program yields: no valueOf/toString of a forged request runs in the TVMM', () => {
    let calls = 0;
    const spy = { valueOf() { calls++; return 20; }, toString() { calls++; return '20'; } };
    const { info, survived } = runAsChild(function* () {
      yield { kind: 'syscall', nr: spy, args: [spy] } as unknown as TrapRequest;
      return 0;
    });
    expect(calls).toBe(0);
    expect(info.state).not.toBe('halted');
    expect(survived).toBe(true);
  });
});

describe('program functions that are not well-formed generators', () => {
  it('a program function that throws when started kills its process only', () => {
    const evil = (() => {
      throw new TerraError('VM_HALTED', 'thrown synchronously');
    }) as unknown as ProgramFn;
    const { info, survived } = runAsChild(evil);
    expect(info.state).not.toBe('halted');
    expect(survived).toBe(true);
  });

  it('a program function that returns a non-generator kills its process only', () => {
    const { info, survived } = runAsChild((() => ({ next: 1 })) as unknown as ProgramFn);
    expect(info.state).not.toBe('halted');
    expect(survived).toBe(true);
  });

  it('a program that throws a value whose inspection throws dies alone', () => {
    const { info, survived } = runAsChild(function* () {
      throw poison();
    });
    expect(info.state).not.toBe('halted');
    expect(survived).toBe(true);
  });

  it('a fork continuation that throws when started kills the child only, and the parent sees a clean fork', () => {
    const g = runMain(function* (p) {
      const pid = yield* c.fork(p, (() => {
        throw new TerraError('VM_HALTED', 'child start');
      }) as unknown as ProgramFn);
      const w = yield* c.waitpid(p, pid);
      yield* c.puts(p, `survivor ${pid > 0} ${JSON.stringify(w)}`);
      return 0;
    });
    expect(g.tvmm.vm(g.vmId).state).not.toBe('halted');
    expect(g.console.some((l) => l.startsWith('survivor true'))).toBe(true);
  });

  it('a program whose finally block throws when exec replaces it does not crash the exec', () => {
    const g = runMain(
      function* (p) {
        try {
          yield* c.exec(p, 'after', []);
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw poison();
        }
        return 1;
      },
      { programs: { after: function* (p) { yield* c.puts(p, 'after ran'); return 0; } } },
    );
    expect(g.tvmm.vm(g.vmId).state).not.toBe('halted');
    expect(g.console).toContain('after ran');
  });
});

describe('Proc never coerces its numeric arguments and validates stored values', () => {
  it('objects with valueOf/toString/Symbol.toPrimitive are refused with a TypeError before anything is called', () => {
    let calls = 0;
    const spy = { valueOf() { calls++; return 0x1000; }, toString() { calls++; return '4096'; }, [Symbol.toPrimitive]() { calls++; return 0x1000; } };
    const results: string[] = [];
    runMain(function* (p) {
      const a = yield* c.mmap(p, 4096);
      const tries: [string, () => unknown][] = [
        ['load8 addr', () => p.load8(spy as never)],
        ['load32 addr', () => p.load32(spy as never)],
        ['store8 addr', () => p.store8(spy as never, 1)],
        ['store32 addr', () => p.store32(spy as never, 1)],
        ['store8 value', () => p.store8(a, spy as never)],
        ['store32 value', () => p.store32(a, spy as never)],
        ['read addr', () => p.read(spy as never, 4)],
        ['write addr', () => p.write(spy as never, new Uint8Array(4))],
      ];
      for (const [name, f] of tries) {
        try {
          f();
          results.push(`${name}: accepted`);
        } catch (e) {
          results.push(`${name}: ${e instanceof TypeError ? 'TypeError' : String(e)}`);
        }
      }
      return 0;
    });
    expect(calls).toBe(0);
    expect(results.every((r) => r.endsWith(': TypeError')), results.join('\n')).toBe(true);
  });

  it('stored values out of range are RangeErrors, not silent truncation', () => {
    const results: string[] = [];
    runMain(function* (p) {
      const a = yield* c.mmap(p, 4096);
      const bad: [string, () => void][] = [
        ['store8 256', () => p.store8(a, 256)],
        ['store8 -1', () => p.store8(a, -1)],
        ['store8 NaN', () => p.store8(a, NaN)],
        ['store8 1.5', () => p.store8(a, 1.5)],
        ['store32 2^32', () => p.store32(a, 2 ** 32)],
        ['store32 -1', () => p.store32(a, -1)],
        ['store32 Infinity', () => p.store32(a, Infinity)],
      ];
      for (const [name, f] of bad) {
        try {
          f();
          results.push(`${name}: accepted`);
        } catch (e) {
          results.push(`${name}: ${e instanceof RangeError ? 'RangeError' : String(e)}`);
        }
      }
      p.store8(a, 255);
      p.store32(a + 4, 0xffffffff);
      results.push(`ok ${p.load8(a)} ${p.load32(a + 4)}`);
      return 0;
    });
    expect(results.slice(0, -1).every((r) => r.endsWith(': RangeError')), results.join('\n')).toBe(true);
    expect(results.at(-1)).toBe(`ok 255 ${0xffffffff}`);
  });
});

describe('a program that throws a forged InvariantError dies alone (FINDINGS 1)', () => {
  it('the VM and its other processes go on; only terracloak-raised invariants halt a VM', () => {
    const { info, survived } = runAsChild(function* () {
      throw new InvariantError('forged: the TVMM is broken');
    });
    expect(info.state, info.haltReason).not.toBe('halted');
    expect(survived).toBe(true);
    // terracloak's own are still genuine (they halt), and a forged one is not.
    expect(isGenuineInvariant(invariantError('x'))).toBe(true);
    expect(isGenuineInvariant(new InvariantError('x'))).toBe(false);
    expect(isGenuineInvariant(Reflect.construct(InvariantError, ['x']))).toBe(false);
  });
});
