// Known-answer tests for both crypto providers: FIPS 180-4, RFC 4231, RFC 5869, RFC 8032,
// McGrew–Viega GCM (NIST), draft-irtf-cfrg-xchacha-03 A.3.1 / §2.2.1.
import { describe, expect, it } from 'vitest';
import { nobleProvider, fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8, type CryptoProvider } from '../../src/crypto/index.js';
import { nodeProvider, hchacha20 } from '../../src/node.js';

const providers: [string, CryptoProvider][] = [['noble', nobleProvider], ['node', nodeProvider]];

describe.each(providers)('%s provider known answers', (_n, p) => {
  it('SHA-256 "abc" (FIPS 180-4) and SHA-512 "abc"', () => {
    expect(toHex(p.sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(p.sha512(utf8('abc')))).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
  });
  it('HMAC-SHA256 RFC 4231 test cases 1 and 2', () => {
    expect(toHex(p.hmacSha256(new Uint8Array(20).fill(0x0b), utf8('Hi There')))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    expect(toHex(p.hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
  it('HKDF-SHA256 RFC 5869 A.1', () => {
    const okm = p.hkdfSha256(new Uint8Array(22).fill(0x0b), fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(toHex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });
  it('Ed25519 RFC 8032 §7.1 tests 1–3', () => {
    const cases = [
      ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
      ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
        '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
      ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
        '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
    ];
    for (const [sk, pk, msg, sig] of cases) {
      const kp = p.keyPairFromSeed('ed25519', fromHex(sk));
      expect(toHex(kp.publicKey)).toBe(pk);
      expect(toHex(p.sign('ed25519', kp.secretKey, fromHex(msg)))).toBe(sig);
      expect(p.verify('ed25519', kp.publicKey, fromHex(msg), fromHex(sig))).toBe(true);
      expect(p.verify('ed25519', kp.publicKey, utf8('other'), fromHex(sig))).toBe(false);
    }
  });
  it('AES-GCM McGrew–Viega test cases 2 and 3 (AES-128)', () => {
    const z = new Uint8Array(16);
    expect(toHex(p.aeadSeal('aes-128-gcm', z, new Uint8Array(12), z, new Uint8Array()))).toBe(
      '0388dace60b6a392f328c2b971b2fe78' + 'ab6e47d42cec13bdf53a67b21257bddf',
    );
    const k = fromHex('feffe9928665731c6d6a8f9467308308');
    const iv = fromHex('cafebabefacedbaddecaf888');
    const pt = fromHex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255');
    const sealed = p.aeadSeal('aes-128-gcm', k, iv, pt, new Uint8Array());
    expect(toHex(sealed)).toBe(
      '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985' +
        '4d5c2af327cd64a62cf35abd2ba6fab4',
    );
    expect(toHex(p.aeadOpen('aes-128-gcm', k, iv, sealed, new Uint8Array())!)).toBe(toHex(pt));
  });
  it('XChaCha20-Poly1305 draft-irtf-cfrg-xchacha-03 A.3.1', () => {
    const pt = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const aad = fromHex('50515253c0c1c2c3c4c5c6c7');
    const key = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const iv = fromHex('404142434445464748494a4b4c4d4e4f5051525354555657');
    const sealed = p.aeadSeal('xchacha20-poly1305', key, iv, pt, aad);
    expect(toHex(sealed)).toBe(
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452' +
        '2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
        'c0875924c1c7987947deafd8780acf49',
    );
    expect(p.aeadOpen('xchacha20-poly1305', key, iv, sealed, aad)).toEqual(pt);
  });
  it('aeadOpen returns null on any tampering (ciphertext, tag, aad, nonce, truncation)', () => {
    for (const suite of ['aes-256-gcm', 'aes-128-gcm', 'xchacha20-poly1305'] as const) {
      const key = new Uint8Array(suite === 'aes-128-gcm' ? 16 : 32).fill(7);
      const nonce = new Uint8Array(suite === 'xchacha20-poly1305' ? 24 : 12).fill(9);
      const aad = utf8('aad');
      const sealed = p.aeadSeal(suite, key, nonce, utf8('secret message'), aad);
      for (let i = 0; i < sealed.length; i++) {
        const t = sealed.slice();
        t[i] ^= 1;
        expect(p.aeadOpen(suite, key, nonce, t, aad)).toBeNull();
      }
      expect(p.aeadOpen(suite, key, nonce, sealed, utf8('aae'))).toBeNull();
      const n2 = nonce.slice();
      n2[n2.length - 1] ^= 1;
      expect(p.aeadOpen(suite, key, n2, sealed, aad)).toBeNull();
      expect(p.aeadOpen(suite, key, nonce, sealed.subarray(0, 15), aad)).toBeNull();
      expect(fromU(p.aeadOpen(suite, key, nonce, sealed, aad))).toBe('secret message');
    }
  });
  it('rejects a small-order Ed25519 key signature that ZIP-215 accepts for every message', async () => {
    const { ed25519 } = await import('@noble/curves/ed25519.js');
    // A = the identity point (small order), R = identity, s = 0: the cofactored ZIP-215 equation holds for any message.
    const identity = fromHex('0100000000000000000000000000000000000000000000000000000000000000');
    const sig = new Uint8Array(64);
    sig.set(identity, 0);
    for (const msg of [utf8('pay mallory'), utf8('anything')]) {
      expect(ed25519.verify(sig, msg, identity, { zip215: true })).toBe(true); // the weak default accepts
      expect(p.verify('ed25519', identity, msg, sig)).toBe(false);
    }
    // Non-canonical encoding of A (y ≥ p): y = p + 1 encodes the identity again.
    const nonCanon = fromHex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    expect(p.verify('ed25519', nonCanon, utf8('x'), sig)).toBe(false);
  });
});

it('HChaCha20 draft-irtf-cfrg-xchacha-03 §2.2.1', () => {
  const key = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  expect(toHex(hchacha20(key, fromHex('000000090000004a0000000031415927')))).toBe(
    '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc',
  );
});

it('the core entry src/index.ts and src/crypto import no node: module', async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const files = ['src/crypto/index.ts', 'src/crypto/noble.ts', 'src/crypto/provider.ts', 'src/crypto/encoding.ts', ...readdirSync('src/attestation').map((f) => `src/attestation/${f}`)];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    expect(text, f).not.toMatch(/from ['"]node:/);
    expect(text, f).not.toMatch(/\bBuffer\./);
  }
});

function fromU(b: Uint8Array | null): string {
  return b === null ? '<null>' : new TextDecoder().decode(b);
}

describe('base64 (RFC 4648)', () => {
  it('matches the RFC 4648 §10 vectors and round-trips every length, without atob/btoa', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [plain, b64] of vectors) {
      expect(toBase64(utf8(plain))).toBe(b64);
      expect(fromUtf8(fromBase64(b64))).toBe(plain);
    }
    for (let n = 0; n < 70; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'));
      expect(fromBase64(toBase64(b))).toEqual(b);
    }
  });
  it('refuses unpadded, malformed or non-string input with RangeError/TypeError', () => {
    for (const bad of ['Zg', 'Zg=', 'Z===', 'Zm9v!A==', 'Zm=v']) expect(() => fromBase64(bad)).toThrow(RangeError);
    expect(() => fromBase64(42 as unknown as string)).toThrow(TypeError);
  });
});
