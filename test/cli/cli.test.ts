import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { main } from '../../src/cli/main.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(argv, (s) => ((out += s), true), (s) => ((err += s), true));
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'terracloak-cli-'));

describe('terracloak CLI', () => {
  it('prints help and exits 2 without a command; unknown commands and flags are usage errors', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('--help')).out).toContain('demo');
    expect((await cli('nope')).code).toBe(2);
    const r = await cli('attacks', '--bogus');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--bogus');
    for (const c of ['demo', 'run', 'experiments', 'attacks', 'root', 'quote', 'verify']) expect((await cli(c, '--help')).code).toBe(0);
  });

  it('demo --seed 5 --trace twice gives identical files with ≥ 100 events, and --json the summary', async () => {
    const a = join(dir, 'a.json'), b = join(dir, 'b.json'), rep = join(dir, 'r.html');
    const r1 = await cli('demo', '--seed', '5', '--trace', a, '--report', rep, '--json');
    expect(r1.code).toBe(0);
    const j = JSON.parse(r1.out);
    expect(j.ok).toBe(true);
    expect(j.summary.length).toBeGreaterThan(2);
    await cli('demo', '--seed', '5', '--trace', b);
    const ta = readFileSync(a, 'utf8');
    expect(ta).toBe(readFileSync(b, 'utf8'));
    expect(JSON.parse(ta).traceEvents.length).toBeGreaterThanOrEqual(100);
    expect(readFileSync(rep, 'utf8')).toContain('id="attestation"');
    expect(readFileSync(rep, 'utf8')).toContain('<svg');
  });

  it('a scenario with a wrong field exits non-zero naming the field', async () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ hosts: 'not-a-list' }));
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain('hosts');
    const j = await cli('run', f, '--json');
    expect(JSON.parse(j.out).errors.some((e: { path: string }) => e.path === 'hosts')).toBe(true);
  });

  it('fuzzed scenario files never crash the CLI with a stack trace', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ version: 1, name: 'x', durationMs: 1, hosts: v, vms: v }))), async (text) => {
        const f = join(dir, 'fuzz.json');
        writeFileSync(f, text);
        const r = await cli('run', f);
        expect([0, 1, 2]).toContain(r.code);
        expect(r.err).not.toMatch(/\n\s+at /);
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it('experiments list --json gives [{id, title, paper}]', async () => {
    const r = await cli('experiments', 'list', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out);
    expect(list.length).toBeGreaterThan(0);
    for (const e of list) expect(Object.keys(e).sort()).toEqual(['id', 'paper', 'title']);
    expect((await cli('experiments', 'run', 'no-such')).code).toBe(2);
  });

  it('attacks --json --only gives [{id, area, outcome, detail}] and exit 0 when nothing leaks', async () => {
    const r = await cli('attacks', '--json', '--only', 'ATT-01,ATT-02');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out);
    expect(rows.map((x: { id: string }) => x.id)).toEqual(['ATT-01', 'ATT-02']);
    for (const x of rows) {
      expect(Object.keys(x).sort()).toEqual(['area', 'detail', 'id', 'outcome']);
      expect(['blocked', 'detected']).toContain(x.outcome);
    }
    expect((await cli('attacks', '--only', 'XYZ-99')).code).toBe(2);
  });

  it('root, quote and verify round-trip; a wrong nonce fails with exit 1 naming the check', async () => {
    const root = join(dir, 'root.pem'), q = join(dir, 'q.cbor'), chain = join(dir, 'chain.pem');
    const img = new URL('../../examples/images/bank.img', import.meta.url).pathname;
    const pol = new URL('../../examples/policies/bank.json', import.meta.url).pathname;
    const nonce = '00112233445566778899aabbccddeeff';
    expect((await cli('root', '--seed', '3', '--out', root)).code).toBe(0);
    expect((await cli('quote', '--seed', '3', '--image', img, '--nonce', nonce, '--out', q, '--chain-out', chain)).code).toBe(0);
    const ok = await cli('verify', q, '--nonce', nonce, '--root', root, '--policy', pol);
    expect(ok.code).toBe(0);
    expect(ok.out.trim()).toBe('verified');
    const bad = await cli('verify', q, '--nonce', nonce.replace('00', 'ff'), '--root', root, '--policy', pol);
    expect(bad.code).toBe(1);
    expect(bad.out + bad.err).toContain('nonce');
  });
});
