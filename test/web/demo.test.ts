import { describe, expect, it } from 'vitest';
import { runPageDemo, VIEW_BYTES } from '../../examples/web/demo.js';
import { hexdump, printableRatio } from '../../examples/web/hexdump.js';

describe('the page-view demo (engine)', () => {
  it('without cloaking, the rootkit reads the secret and the app sees the tampered page', () => {
    const r = runPageDemo({ seed: 3, secret: 'hunter2 hunter2 hunter2' });
    expect(r.cloaked).toBe(false);
    expect(r.steps.map((s) => [s.id, s.verdict])).toEqual([['write', 'info'], ['dump', 'LEAKED'], ['tamper', 'TAMPERED']]);
    const dump = r.steps[1];
    expect(new TextDecoder().decode(dump.kernelView!.subarray(0, 23))).toBe('hunter2 hunter2 hunter2');
    expect(dump.appView).toEqual(dump.kernelView);
    expect(new TextDecoder().decode(r.steps[2].appView!.subarray(0, 4))).toBe('EVIL');
    expect(r.gppn).toBeGreaterThan(0);
    expect(r.appEnded).toBe('exited with status 0');
    expect(r.securityEvents).toEqual([]);
  });

  it('with cloaking, the kernel sees only ciphertext and its tampering terminates the app', () => {
    const secret = 'hunter2 hunter2 hunter2';
    const r = runPageDemo({ seed: 3, secret, cloaked: true });
    expect(r.cloaked).toBe(true);
    expect(r.steps.map((s) => [s.id, s.verdict])).toEqual([['write', 'info'], ['dump', 'blocked'], ['tamper', 'detected']]);
    const [write, dump, tamper] = r.steps;
    expect(new TextDecoder().decode(write.appView!.subarray(0, 23))).toBe(secret);
    expect(new TextDecoder().decode(dump.appView!.subarray(0, 23))).toBe(secret);
    expect(printableRatio(dump.kernelView)).toBeLessThan(0.6);
    expect(tamper.appView).toBeNull();
    expect(r.appEnded).toMatch(/^was terminated/);
    expect(r.securityEvents.map((e) => e.kind)).toContain('cloak.violation');
  });

  it('is deterministic', () => {
    const a = runPageDemo({ seed: 4, cloaked: true });
    const b = runPageDemo({ seed: 4, cloaked: true });
    expect(a.traceDigest).toBe(b.traceDigest);
    expect(a.steps).toEqual(b.steps);
  });

  it('exports its trace as Chrome trace-event JSON with the VM, cloaking and security tracks', () => {
    const r = runPageDemo({ seed: 2, cloaked: true });
    const j = JSON.parse(r.chromeTrace) as { traceEvents: { name: string; ph: string; cat: string; args: { name?: string } }[]; otherData: Record<string, unknown> };
    const threads = j.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.args.name);
    expect(threads).toEqual(expect.arrayContaining(['vcpu', 'cloak', '⚠ security']));
    expect(j.traceEvents.some((e) => e.cat === 'security' && e.name === 'cloak.violation')).toBe(true);
    expect(j.otherData).toMatchObject({ seed: 2, cloaked: true, digest: r.traceDigest });
    expect(runPageDemo({ seed: 2, cloaked: true }).chromeTrace).toBe(r.chromeTrace);
  });

  it('refuses a secret that does not fit the view', () => {
    expect(() => runPageDemo({ secret: 'x'.repeat(VIEW_BYTES + 1) })).toThrow(RangeError);
  });

  it('hexdump formats offsets, hex and ASCII', () => {
    expect(hexdump(new TextEncoder().encode('AB\n'), 0x1000)).toBe('00001000  41 42 0a' + ' '.repeat(39) + '  |AB.|');
    expect(printableRatio(new Uint8Array([0x41, 0]))).toBe(0.5);
    expect(() => hexdump('x' as never)).toThrow(TypeError);
  });
});
