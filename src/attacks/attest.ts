/**
 * Attestation and sealing threat scenarios ATT-01…ATT-15 (threat catalogue §2; Terra, Garfinkel
 * et al., SOSP'03). Each scenario runs deterministically from a seed against the real attestation
 * engine and reports what stopped it; the detail string lists every variant's typed error code.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { TerraError, createSimContext, isValidationError, SimulatedCrash } from '../sim/index.js';
import { fromHex, nobleProvider, toHex, utf8 } from '../crypto/index.js';
import {
  buildImage,
  checkKeyConfirmation,
  cborEncode,
  createAttestedHost,
  decodeQuote,
  defaultBootImages,
  deriveSessionKey,
  encodeQuote,
  issueCert,
  keyConfirmation,
  parseCert,
  parseImage,
  parseSealedBlob,
  policyFor,
  ueidFor,
  x25519KeyPair,
  DBGSTAT,
  RootOfTrust,
  Verifier,
  type AttestedHost,
  type Policy,
} from '../attestation/index.js';
import type { AttackReport, AttackScenario } from './types.js';

const P = nobleProvider;

/** The outcome of one call: 'OK' or the TerraError code (with detail.check when present). */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'OK';
  } catch (e) {
    if (e instanceof TerraError) return e.detail.check ? String(e.detail.check) : e.code;
    if (isValidationError(e)) return 'VALIDATION';
    throw e;
  }
}

function image(name: string, salt: number, size = 12_000): Uint8Array {
  const c = new Uint8Array(size);
  for (let i = 0; i < size; i++) c[i] = (i * 13 + salt * 101 + (i >> 7)) & 0xff;
  c.set(utf8(`#!${name}\n`));
  return buildImage(P, c, { name, blockSize: 4096 });
}

interface World {
  host: AttestedHost;
  good: Uint8Array;
  bad: Uint8Array;
  verifier: Verifier;
  policy: Policy;
}

function world(seed: number, extra: Partial<Policy> = {}): World {
  const host = createAttestedHost({ seed });
  const good = image('bank', 1);
  const bad = image('malware', 2);
  host.service.registerVm(1, { image: good, mode: 'closed' }); // G
  host.service.registerVm(2, { image: bad, mode: 'closed' }); // M
  const policy = policyFor(host, [parseImage(P, good).identity], extra);
  const verifier = new Verifier(createSimContext({ seed: seed + 1 }), P, [host.rot.manufacturer.certDer], policy);
  return { host, good, bad, verifier, policy };
}

function verifyCode(v: Verifier, q: Uint8Array, n: Uint8Array): string {
  const r = v.verify(q, n);
  return r.ok ? 'OK' : r.failed!.code;
}

/** Re-encodes a quote with another x5chain (keeping alg, kid, payload and signature). */
function withChain(q: Uint8Array, chain: Uint8Array[]): Uint8Array {
  const d = decodeQuote(q);
  const prot = cborEncode(new Map<number, unknown>([[1, d.alg === 'ed25519' ? -8 : -7], [4, d.kid], [33, chain]]));
  const body = cborEncode([prot, new Map(), d.payload, d.signature]);
  const out = new Uint8Array(body.length + 1);
  out[0] = 0xd2;
  out.set(body, 1);
  return out;
}

function report(results: Record<string, string>, expected: Record<string, string>, kind: 'blocked' | 'detected'): AttackReport {
  const wrong = Object.keys(expected).filter((k) => results[k] !== expected[k]);
  const detail = Object.entries(results).map(([k, v]) => `${k}:${v}`).join(' ');
  return wrong.length === 0 ? { outcome: kind, detail } : { outcome: 'LEAKED', detail: `${detail} (unexpected: ${wrong.join(', ')})` };
}

const att01: AttackScenario = {
  id: 'ATT-01',
  area: 'ATT',
  attack: "A malicious VM passes as another VM: its own quote, an edited measurement, another VM's certificate, an open-box twin",
  expected: 'ATTESTATION_ERROR (a) MEASUREMENT_MISMATCH (b) BAD_SIGNATURE (c) KEY_MISMATCH (d) MODE_MISMATCH',
  run(seed) {
    const w = world(seed);
    const r: Record<string, string> = {};
    let n = w.verifier.issueNonce();
    r.a = verifyCode(w.verifier, w.host.service.quote(2, n), n);
    // (b) M replaces its measurement bytes in the payload with G's.
    n = w.verifier.issueNonce();
    const qm = w.host.service.quote(2, n);
    const mBad = parseImage(P, w.bad).identity, mGood = parseImage(P, w.good).identity;
    const edited = qm.slice();
    const hay = toHex(edited);
    let at = hay.lastIndexOf(toHex(mBad));
    while (at % 2 !== 0) at = hay.lastIndexOf(toHex(mBad), at - 1);
    edited.set(mGood, at / 2);
    r.b = verifyCode(w.verifier, edited, n);
    // (c) G's certificate chain presented with a quote signed by M's key.
    n = w.verifier.issueNonce();
    r.c = verifyCode(w.verifier, withChain(w.host.service.quote(2, n), w.host.service.chain(1)), n);
    // (d) An open-box VM built from G's image.
    w.host.service.registerVm(3, { image: w.good, mode: 'open' });
    n = w.verifier.issueNonce();
    r.d = verifyCode(w.verifier, w.host.service.quote(3, n), n);
    return report(r, { a: 'MEASUREMENT_MISMATCH', b: 'BAD_SIGNATURE', c: 'KEY_MISMATCH', d: 'MODE_MISMATCH' }, 'detected');
  },
};

const att02: AttackScenario = {
  id: 'ATT-02',
  area: 'ATT',
  attack: "M relays the verifier's nonce to a genuine VM G and forwards G's quote as its own, then runs the key exchange itself",
  expected: 'The session key derives from the key bound in the quote; M cannot confirm it: ATTESTATION_ERROR CHANNEL_BINDING; naming another VM is ISOLATION_VIOLATION',
  run(seed) {
    const w = world(seed);
    const r: Record<string, string> = {};
    const gKeys = x25519KeyPair(w.host.ctx.rng.fork('vm1-x25519'));
    const mKeys = x25519KeyPair(w.host.ctx.rng.fork('vm2-x25519'));
    const n = w.verifier.issueNonce();
    const q = w.host.service.portFor(1).quote(n, { boundKey: gKeys.publicKey }); // G quotes over the relayed nonce
    const rep = w.verifier.verify(q, n); // M forwards it: the quote itself is genuine
    r.quote = rep.ok ? 'OK' : rep.failed!.code;
    const vEph = x25519KeyPair(createSimContext({ seed: seed + 2 }).rng);
    const vKey = deriveSessionKey(P, vEph.secretKey, rep.boundKey!, n, q);
    // M answers the key exchange with its own key pair.
    const mKey = deriveSessionKey(P, mKeys.secretKey, vEph.publicKey, n, q);
    r.exchange = outcome(() => checkKeyConfirmation(P, vKey, 'vm', keyConfirmation(P, mKey, 'vm')));
    // Control: G itself completes the exchange.
    const gKey = deriveSessionKey(P, gKeys.secretKey, vEph.publicKey, n, q);
    r.genuine = outcome(() => checkKeyConfirmation(P, vKey, 'vm', keyConfirmation(P, gKey, 'vm')));
    // Variant: M asks for a quote naming G, binding M's key.
    r.variant = outcome(() => w.host.service.portFor(2).quote(n, { boundKey: mKeys.publicKey, vmId: 1 } as never));
    return report(r, { quote: 'OK', exchange: 'CHANNEL_BINDING', genuine: 'OK', variant: 'ISOLATION_VIOLATION' }, 'detected');
  },
};

const att03: AttackScenario = {
  id: 'ATT-03',
  area: 'ATT',
  attack: 'Replay an old quote in another session, twice in one session, after expiry; predict nonces',
  expected: '(a) NONCE_MISMATCH (b) NONCE_CONSUMED (c) NONCE_EXPIRED (d) 32-byte nonces, no repeats, no structure',
  run(seed) {
    const w = world(seed);
    const r: Record<string, string> = {};
    const n1 = w.verifier.issueNonce();
    const q1 = w.host.service.quote(1, n1);
    const n2 = w.verifier.issueNonce();
    r.a = verifyCode(w.verifier, q1, n2);
    r.first = verifyCode(w.verifier, q1, n1);
    r.b = verifyCode(w.verifier, q1, n1);
    const n3 = w.verifier.issueNonce();
    const q3 = w.host.service.quote(1, n3);
    w.verifier.ctx.clock.advance((w.policy.nonceTtlSeconds + 1) * 1e9);
    r.c = verifyCode(w.verifier, q3, n3);
    const seen = new Set<string>();
    let ok = true;
    let prev = '';
    for (let i = 0; i < 10_000; i++) {
      const h = toHex(w.verifier.issueNonce());
      if (h.length !== 64 || seen.has(h) || h.slice(0, 16) === prev.slice(0, 16)) ok = false;
      seen.add(h);
      prev = h;
    }
    r.d = ok ? 'UNPREDICTABLE' : 'WEAK';
    return report(r, { a: 'NONCE_MISMATCH', first: 'OK', b: 'NONCE_CONSUMED', c: 'NONCE_EXPIRED', d: 'UNPREDICTABLE' }, 'detected');
  },
};

const att05: AttackScenario = {
  id: 'ATT-05',
  area: 'ATT',
  attack: 'Attest through an old vulnerable TVMM, through a self-signed TVMM key, or unseal v2 data under v1',
  expected: '(2) TCB_TOO_OLD (3) UNTRUSTED_ROOT (4) UNSEAL_ERROR',
  run(seed) {
    const r: Record<string, string> = {};
    const ctx = createSimContext({ seed });
    const rot = new RootOfTrust(ctx, P);
    const good = image('bank', 1);
    // TVMM v2 seals.
    const v2 = createAttestedHost({ rot, boot: defaultBootImages(2) });
    v2.service.registerVm(1, { image: good, mode: 'closed' });
    const blob = v2.service.seal(1, 'db', utf8('v2 secret'));
    // Reboot into TVMM v1.
    rot.platformReset();
    const v1 = createAttestedHost({ rot, blobs: v2.blobs, boot: defaultBootImages(1) });
    v1.service.registerVm(1, { image: good, mode: 'closed' });
    const pol = policyFor(v1, [parseImage(P, good).identity], { minTvmmSvn: 2 });
    pol.allow.tvmm.push(...policyFor(v2, []).allow.tvmm);
    const ver = new Verifier(createSimContext({ seed: seed + 1 }), P, [rot.manufacturer.certDer], pol);
    let n = ver.issueNonce();
    r.tcb = verifyCode(ver, v1.service.quote(1, n), n);
    r.unseal = outcome(() => v1.service.unsealBlob(1, blob));
    // (3) A TVMM key the root never endorsed: a self-signed TVMM certificate.
    const fake = P.keyPairFromSeed('ed25519', ctx.rng.fork('attacker').bytes(32));
    const vmKey = P.keyPairFromSeed('ed25519', ctx.rng.fork('attacker-vm').bytes(32));
    const m = v1.tvmm.measurements;
    const tv = issueCert(P, fake, { subjectCN: 'evil tvmm', issuerCN: 'evil tvmm', subjectKey: fake, ca: true, ext: { role: 'tvmm', measurement: m.tvmm, svn: 9, mode: 'none', debug: false, appData: new Uint8Array() } });
    const id = parseImage(P, good).identity;
    const vmc = issueCert(P, fake, { subjectCN: 'evil vm', issuerCN: 'evil tvmm', subjectKey: vmKey, ca: false, ext: { role: 'vm', measurement: id, svn: 9, mode: 'closed', debug: false, appData: new Uint8Array() } });
    n = ver.issueNonce();
    const forged = encodeQuote(P, vmKey, [vmc, tv], {
      nonce: n, ueid: ueidFor(P, rot.devicePublicKey), dbgstat: DBGSTAT.disabledPermanently,
      measurements: { vm: id, secondary: [], tvmm: m.tvmm, bootloader: m.bootloader, firmware: m.firmware, pcrs: [rot.readPcr(0), rot.readPcr(1), rot.readPcr(2)] },
      mode: 'closed', tvmmSvn: 9, instance: 0, iat: 0, boundKey: null,
    });
    r.selfSigned = verifyCode(ver, forged, n);
    return report(r, { tcb: 'TCB_TOO_OLD', unseal: 'UNSEAL_ERROR', selfSigned: 'UNTRUSTED_ROOT' }, 'blocked');
  },
};

const att06: AttackScenario = {
  id: 'ATT-06',
  area: 'ATT',
  attack: 'Malformed or re-ordered chains: permuted, missing link, padded, cyclic, duplicated, wrong issuer, VM/app cert as issuer, revoked TVMM key',
  expected: 'ATTESTATION_ERROR CHAIN_INVALID for each; only the TVMM certifies VMs',
  run(seed) {
    const w = world(seed);
    const other = createAttestedHost({ seed: seed + 50, manufacturer: w.host.rot.manufacturer, deviceLabel: 'device-b' });
    other.service.registerVm(1, { image: w.good, mode: 'closed' });
    const c = w.host.service.chain(1);
    const oc = other.service.chain(1);
    const r: Record<string, string> = {};
    const chains: Record<string, Uint8Array[]> = {
      permuted: [c[0], c[2], c[1], c[3], c[4]],
      missing: [c[0], c[1], c[3], c[4]],
      padded: [c[0], c[1], oc[2], c[2], c[3], c[4]],
      cyclic: [c[0], c[1], c[2], c[3], c[4], c[1]],
      duplicated: [c[0], c[0], c[1], c[2], c[3], c[4]],
      wrongIssuer: [c[0], oc[1], c[2], c[3], c[4]],
    };
    for (const [k, ch] of Object.entries(chains)) {
      const n = w.verifier.issueNonce();
      r[k] = verifyCode(w.verifier, withChain(w.host.service.quote(1, n), ch), n);
    }
    // An ENDORSEd app key used as the issuer of a VM certificate.
    const app = P.keyPairFromSeed('ed25519', w.host.ctx.rng.fork('m-app').bytes(32));
    const appCert = w.host.service.portFor(2).endorse({ alg: 'ed25519', publicKey: app.publicKey });
    const fakeVm = issueCert(P, app, { subjectCN: 'fake vm', issuerCN: parseCert(appCert).subjectCN, subjectKey: app, ca: false, ext: { role: 'vm', measurement: parseImage(P, w.good).identity, svn: 1, mode: 'closed', debug: false, appData: new Uint8Array() } });
    let n = w.verifier.issueNonce();
    r.appAsIssuer = verifyCode(w.verifier, withChain(w.host.service.quote(1, n), [fakeVm, appCert, ...c.slice(1)]), n);
    // A chain containing a revoked TVMM key.
    const tvmmKey = parseCert(c[1]).publicKey;
    const rv = new Verifier(createSimContext({ seed: seed + 3 }), P, [w.host.rot.manufacturer.certDer], { ...w.policy, revokedKeys: [toHex(P.sha256(tvmmKey))] });
    n = rv.issueNonce();
    r.revoked = verifyCode(rv, w.host.service.quote(1, n), n);
    const exp = Object.fromEntries(Object.keys(r).map((k) => [k, 'CHAIN_INVALID']));
    return report(r, exp, 'detected');
  },
};

const att07: AttackScenario = {
  id: 'ATT-07',
  area: 'ATT',
  attack: 'Get a small-order or non-canonical Ed25519 key certified and "sign" anything with R = identity, s = 0',
  expected: 'ENDORSE refuses (WEAK_KEY); strict verification (zip215: false) rejects; the ZIP-215 default would accept',
  run(seed) {
    const w = world(seed);
    const r: Record<string, string> = {};
    const identity = fromHex('0100000000000000000000000000000000000000000000000000000000000000');
    const nonCanonical = fromHex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    const port = w.host.service.portFor(2);
    r.smallOrder = outcome(() => port.endorse({ alg: 'ed25519', publicKey: identity }));
    r.nonCanonical = outcome(() => port.endorse({ alg: 'ed25519', publicKey: nonCanonical }));
    const sig = new Uint8Array(64);
    sig.set(identity);
    const msg = utf8('transfer everything to mallory');
    r.zip215Default = ed25519.verify(sig, msg, identity, { zip215: true }) ? 'ACCEPTS' : 'rejects';
    r.strict = P.verify('ed25519', identity, msg, sig) ? 'ACCEPTS' : 'REJECTED';
    return report(r, { smallOrder: 'WEAK_KEY', nonCanonical: 'WEAK_KEY', zip215Default: 'ACCEPTS', strict: 'REJECTED' }, 'blocked');
  },
};

const att08: AttackScenario = {
  id: 'ATT-08',
  area: 'ATT',
  attack: 'The host mutates the VM image buffer after measurement and before the VM runs',
  expected: 'The executed bytes equal the measured bytes and the quote is accurate (copy, then measure)',
  run(seed) {
    const w = world(seed);
    const img = image('victim', 9);
    const measured = parseImage(P, img).identity;
    const expected = parseImage(P, img).blockData.slice();
    w.host.service.registerVm(5, { image: img, mode: 'closed' });
    img[0x100] = 0xcc; // after measurement
    img.fill(0xcc, img.length - 4096);
    const run = w.host.service.measuredImage(5).blockData; // what the TVMM loads
    const r: Record<string, string> = {};
    r.executed = P.equalBytes(run, expected) ? 'MEASURED_BYTES' : 'MUTATED_BYTES';
    const d = decodeQuote(w.host.service.quote(5, new Uint8Array(32)));
    r.quote = P.equalBytes(d.claims.measurements.vm, measured) ? 'ACCURATE' : 'WRONG';
    return report(r, { executed: 'MEASURED_BYTES', quote: 'ACCURATE' }, 'blocked');
  },
};

const att09: AttackScenario = {
  id: 'ATT-09',
  area: 'ATT',
  attack: 'A debug-launched closed-box VM passes for a production one, or opens production sealed data',
  expected: 'Quotes carry dbgstat enabled and the default policy refuses (DEBUG_NOT_ALLOWED); debug sealing keys differ (UNSEAL_ERROR). Management-API inspection is the TVMM\'s part of ATT-09',
  run(seed) {
    const w = world(seed);
    w.host.service.registerVm(6, { image: w.good, mode: 'closed', debug: true });
    const r: Record<string, string> = {};
    const n = w.verifier.issueNonce();
    const q = w.host.service.quote(6, n);
    r.dbgstat = decodeQuote(q).claims.dbgstat === DBGSTAT.enabled ? 'ENABLED' : 'HIDDEN';
    r.verify = verifyCode(w.verifier, q, n);
    const blob = w.host.service.seal(1, 'prod', utf8('production secret'));
    r.unseal = outcome(() => w.host.service.unsealBlob(6, blob));
    return report(r, { dbgstat: 'ENABLED', verify: 'DEBUG_NOT_ALLOWED', unseal: 'UNSEAL_ERROR' }, 'blocked');
  },
};

const att11: AttackScenario = {
  id: 'ATT-11',
  area: 'ATT',
  attack: "A VM claims another VM's measurement through the attestation interface",
  expected: 'ISOLATION_VIOLATION; the identity in every certificate and quote comes from the TVMM, never from arguments',
  run(seed) {
    const w = world(seed);
    const r: Record<string, string> = {};
    const port = w.host.service.portFor(2);
    const gId = w.host.service.getId(1).primary;
    r.quoteAsOther = outcome(() => port.quote(new Uint8Array(32), { vmId: 1 } as never));
    r.endorseAsOther = outcome(() => port.endorse({ alg: 'ed25519', publicKey: P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(3)).publicKey, measurement: gId } as never));
    const cert = parseCert(port.endorse({ alg: 'ed25519', publicKey: P.keyPairFromSeed('ed25519', new Uint8Array(32).fill(4)).publicKey, appData: gId }));
    r.endorsedIdentity = P.equalBytes(cert.ext.measurement, w.host.service.getId(2).primary) ? 'CALLER' : 'FORGED';
    r.getId = P.equalBytes(port.getId().primary, gId) ? 'FORGED' : 'CALLER';
    return report(r, { quoteAsOther: 'ISOLATION_VIOLATION', endorseAsOther: 'ISOLATION_VIOLATION', endorsedIdentity: 'CALLER', getId: 'CALLER' }, 'blocked');
  },
};

const att12: AttackScenario = {
  id: 'ATT-12',
  area: 'ATT',
  attack: 'Unseal after an image, mode, policy-field or instance change',
  expected: '(a)(b)(c) UNSEAL_ERROR; (d) instance policy UNSEAL_ERROR, measurement policy succeeds; no plaintext in errors',
  run(seed) {
    const w = world(seed);
    const r: Record<string, string> = {};
    const secret = 'TOP-SECRET-7f3a9c';
    const bm = w.host.service.seal(1, 'm', utf8(secret), 'measurement');
    const bi = w.host.service.seal(1, 'i', utf8(secret), 'instance');
    // (a) an image that differs by one content byte (rebuilt, so its hash table is consistent)
    const pi2 = parseImage(P, w.good);
    const content = pi2.blockData.slice(0, pi2.descriptor.length);
    content[100] ^= 1;
    w.host.service.registerVm(7, { image: buildImage(P, content, { name: 'bank', blockSize: 4096 }), mode: 'closed' });
    w.host.service.registerVm(8, { image: w.good, mode: 'open' });
    w.host.service.registerVm(9, { image: w.good, mode: 'closed', instance: 2 });
    const msgs: string[] = [];
    const o = (f: () => unknown) => {
      try {
        f();
        return 'OK';
      } catch (e) {
        msgs.push(String((e as Error).message), JSON.stringify((e as TerraError).detail ?? {}));
        return e instanceof TerraError ? e.code : 'THREW';
      }
    };
    r.a = o(() => w.host.service.unsealBlob(7, bm));
    r.b = o(() => w.host.service.unsealBlob(8, bm));
    const flipped = bi.slice();
    flipped[5] = 1; // policy instance → measurement
    r.c = o(() => w.host.service.unsealBlob(1, flipped));
    r.dInstance = o(() => w.host.service.unsealBlob(9, bi));
    r.dMeasurement = o(() => w.host.service.unsealBlob(9, bm));
    r.leak = msgs.some((m) => m.includes(secret)) ? 'LEAK' : 'NONE';
    return report(r, { a: 'UNSEAL_ERROR', b: 'UNSEAL_ERROR', c: 'UNSEAL_ERROR', dInstance: 'UNSEAL_ERROR', dMeasurement: 'OK', leak: 'NONE' }, 'blocked');
  },
};

function rebootHost(h: AttestedHost, img: Uint8Array): AttestedHost {
  h.rot.faults.clear();
  h.rot.platformReset();
  const n = createAttestedHost({ rot: h.rot, blobs: h.blobs });
  n.service.registerVm(1, { image: img, mode: 'closed' });
  return n;
}

const att13: AttackScenario = {
  id: 'ATT-13',
  area: 'ATT',
  attack: 'The host replays an older sealed blob, also across a power loss and recovery',
  expected: 'ROLLBACK_DETECTED in both cases',
  run(seed) {
    const w = world(seed);
    const b1 = w.host.service.seal(1, 'state', utf8('v1'));
    w.host.service.seal(1, 'state', utf8('v2'));
    const r: Record<string, string> = {};
    r.live = outcome(() => w.host.service.unsealBlob(1, b1));
    const h2 = rebootHost(w.host, w.good);
    r.afterCrash = outcome(() => h2.service.unsealBlob(1, b1));
    r.current = new TextDecoder().decode(h2.service.unseal(1, 'state'));
    return report(r, { live: 'ROLLBACK_DETECTED', afterCrash: 'ROLLBACK_DETECTED', current: 'v2' }, 'detected');
  },
};

/** The crash points of the seal protocol (in order). */
export const SEAL_CRASH_POINTS = ['seal.beforePersist', 'seal.afterPersist', 'nv.beforeWrite', 'nv.tornWrite', 'nv.afterWrite', 'seal.afterIncrement', 'seal.afterAck'] as const;

const att15: AttackScenario = {
  id: 'ATT-15',
  area: 'ATT',
  attack: 'Power loss at each crash point inside the seal protocol, then recovery',
  expected: 'After every crash point exactly one of {old, new} unseals: never both (rollback), never neither (bricked)',
  run(seed) {
    const r: Record<string, string> = {};
    for (const point of SEAL_CRASH_POINTS) {
      const w = world(seed);
      const old = w.host.service.seal(1, 'k', utf8('old'));
      w.host.rot.faults.arm(point);
      let crashed = false;
      try {
        w.host.service.seal(1, 'k', utf8('new'));
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
        crashed = true;
      }
      const h = rebootHost(w.host, w.good);
      const newer = h.blobs.keys().map((k) => h.blobs.get(k)!).find((b) => parseSealedBlob(b).sequence === 2);
      const oldOk = outcome(() => h.service.unsealBlob(1, old)) === 'OK';
      const newOk = newer !== undefined && outcome(() => h.service.unsealBlob(1, newer)) === 'OK';
      const live = outcome(() => h.service.unseal(1, 'k'));
      r[point] = !crashed ? 'NO_CRASH' : oldOk && newOk ? 'BOTH' : !oldOk && !newOk ? 'NEITHER' : live !== 'OK' ? 'BRICKED' : oldOk ? 'OLD' : 'NEW';
    }
    const bad = Object.values(r).filter((v) => !['OLD', 'NEW'].includes(v));
    const detail = Object.entries(r).map(([k, v]) => `${k}:${v}`).join(' ');
    return bad.length ? { outcome: 'LEAKED', detail } : { outcome: 'blocked', detail };
  },
};

/** Every ATT-* scenario. */
export const attestAttacks: readonly AttackScenario[] = [att01, att02, att03, att05, att06, att07, att08, att09, att11, att12, att13, att15];
