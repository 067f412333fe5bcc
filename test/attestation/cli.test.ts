// CLI pieces root / quote / verify on the committed example image and policy.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cmdQuote, cmdRoot, cmdVerify } from '../../src/cli/attest-commands.js';
import { makeBankImage, makeBankPolicy } from '../../examples/images/make.js';
import { CHECKS } from '../../src/attestation/index.js';

const IMG = 'examples/images/bank.img';
const POL = 'examples/policies/bank.json';
const NONCE = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

describe('attestation CLI commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tc-cli-'));
  const root = join(dir, 'root.pem'), quote = join(dir, 'quote.cbor'), chain = join(dir, 'chain.pem');

  it('the committed example image and policy are what make.ts generates', () => {
    const img = makeBankImage();
    expect(new Uint8Array(readFileSync(IMG))).toEqual(img);
    expect(JSON.parse(readFileSync(POL, 'utf8'))).toEqual(makeBankPolicy(img));
  });

  it('root → quote → verify prints verified and exits 0', () => {
    expect(cmdRoot({ seed: 3, out: root }).exitCode).toBe(0);
    expect(readFileSync(root, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(cmdQuote({ seed: 3, image: IMG, nonce: NONCE, out: quote, chainOut: chain }).exitCode).toBe(0);
    const r = cmdVerify({ quote, nonce: NONCE, root, policy: POL });
    expect(r).toEqual({ exitCode: 0, stdout: 'verified' });
    const j = JSON.parse(cmdVerify({ quote, nonce: NONCE, root, policy: POL, json: true }).stdout);
    expect(j.ok).toBe(true);
    expect(j.checks).toHaveLength(CHECKS.length);
  });

  it('the wrong nonce, another host\'s root, a modified image or a bad policy exit 1 naming the check', () => {
    const other = join(dir, 'other.pem');
    cmdRoot({ seed: 4, out: other });
    expect(cmdVerify({ quote, nonce: NONCE.replace(/^00/, '01'), root, policy: POL })).toMatchObject({ exitCode: 1, stdout: expect.stringContaining('NONCE_MISMATCH') });
    expect(cmdVerify({ quote, nonce: NONCE, root: other, policy: POL })).toMatchObject({ exitCode: 1, stdout: expect.stringContaining('UNTRUSTED_ROOT') });
    const img = new Uint8Array(readFileSync(IMG));
    const bad = join(dir, 'bad.img');
    const q2 = join(dir, 'q2.cbor');
    const b = img.slice();
    b[b.length - 2000] ^= 1; // last block changed: the descriptor is the same, the block hash is not
    writeFileSync(bad, b);
    expect(cmdQuote({ seed: 3, image: bad, nonce: NONCE, out: q2 })).toMatchObject({ exitCode: 1, stdout: expect.stringContaining('IMAGE_BLOCK') });
    expect(existsSync(q2)).toBe(false);
    const badPolicy = join(dir, 'bad.json');
    writeFileSync(badPolicy, JSON.stringify({ ...JSON.parse(readFileSync(POL, 'utf8')), minTvmmSvn: -1 }));
    expect(cmdVerify({ quote, nonce: NONCE, root, policy: badPolicy })).toMatchObject({ exitCode: 1, stdout: expect.stringContaining('minTvmmSvn') });
  });

  it.skipIf(!existsSync('/usr/bin/openssl'))('openssl accepts the chain written by --chain-out', () => {
    const pem = readFileSync(chain, 'utf8');
    const certs = pem.split(/(?<=-----END CERTIFICATE-----\n)/).filter(Boolean);
    writeFileSync(join(dir, 'leaf.pem'), certs[0]);
    writeFileSync(join(dir, 'inter.pem'), certs.slice(1).join(''));
    const out = execFileSync('/usr/bin/openssl', ['verify', '-CAfile', root, '-untrusted', join(dir, 'inter.pem'), join(dir, 'leaf.pem')]).toString();
    expect(out).toContain('OK');
  });
});

it('ATTEST_COMMANDS drives the same commands from parsed arguments', async () => {
  const { ATTEST_COMMANDS } = await import('../../src/cli/attest-commands.js');
  const { parseArgs } = await import('../../src/cli/args.js');
  const dir = mkdtempSync(join(tmpdir(), 'tc-cli2-'));
  const run = (name: string, argv: string[]) => {
    const c = ATTEST_COMMANDS.find((x) => x.name === name)!;
    const a = parseArgs(argv, c.options);
    return c.run(a.positionals, a.opts);
  };
  expect(run('root', ['--seed', '9', '--out', join(dir, 'r.pem')]).exitCode).toBe(0);
  expect(run('quote', ['--seed', '9', '--image', IMG, '--nonce', NONCE, '--out', join(dir, 'q.cbor'), '--chain-out', join(dir, 'c.pem')]).exitCode).toBe(0);
  expect(run('verify', [join(dir, 'q.cbor'), '--nonce', NONCE, '--root', join(dir, 'r.pem'), '--policy', POL])).toEqual({ exitCode: 0, stdout: 'verified' });
  expect(() => run('verify', ['--nonce', NONCE, '--root', join(dir, 'r.pem'), '--policy', POL])).toThrow(/exactly one quote/);
  expect(() => run('root', ['--out', join(dir, 'x.pem')])).toThrow(/seed/);
});

describe('terracloak verify --at (certificate validity time)', () => {
  async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const { main } = await import('../../src/cli/main.js');
    let out = '', err = '';
    const code = await main(argv, (s) => ((out += s), true), (s) => ((err += s), true));
    return { code, out, err };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tc-cli-at-'));
  const root = join(dir, 'r.pem'), q = join(dir, 'q.cbor');

  it('defaults to the simulation epoch; --at checks at the given time and names the expired certificate', async () => {
    expect((await cli('root', '--seed', '5', '--out', root)).code).toBe(0);
    expect((await cli('quote', '--seed', '5', '--image', IMG, '--nonce', NONCE, '--out', q)).code).toBe(0);
    const base = ['verify', q, '--nonce', NONCE, '--root', root, '--policy', POL];
    const def = await cli(...base, '--json');
    expect(def.code).toBe(0);
    expect(JSON.parse(def.out).at).toBe('2026-01-01T00:00:00Z');
    expect((await cli(...base, '--at', '2030-06-01T12:00:00Z')).out.trim()).toBe('verified');
    expect((await cli(...base, '--at', '2030-06-01')).code).toBe(0);
    const late = await cli(...base, '--at', '2036-01-01T00:00:01Z');
    expect(late.code).toBe(1);
    expect(late.out).toContain('check root failed with CERT_EXPIRED: certificate 0 (vm) expired at 2036-01-01T00:00:00Z');
    const j = JSON.parse((await cli(...base, '--at', '2036-01-01T01:00:00+01:00', '--json')).out);
    expect(j.ok).toBe(true); // 00:00:00Z, the last valid second
    expect(j.at).toBe('2036-01-01T00:00:00Z');
    const early = await cli(...base, '--at', '2025-12-31T23:59:59Z');
    expect(early.out).toContain('CERT_NOT_YET_VALID');
    expect((await cli('verify', '--help')).out).toContain('--at');
  });

  it('refuses a malformed --at as a usage error (exit 2)', async () => {
    const base = ['verify', q, '--nonce', NONCE, '--root', root, '--policy', POL];
    for (const bad of ['yesterday', '2030-02-31', '2030-01-01T00:00:00', '2030-01-01T25:00:00Z', '1e12', '']) expect((await cli(...base, '--at', bad)).code, bad).toBe(2);
  });

  it('--at now reads the clock it is given', async () => {
    const { parseAtTime } = await import('../../src/cli/extra-commands.js');
    expect(parseAtTime('now', () => 1234)).toBe(1234);
    expect(parseAtTime('2030-01-01T00:00:00.500Z')).toBe(Date.UTC(2030, 0, 1) + 500);
  });
});
