// Caller misuse → TypeError/RangeError (ValidationTypeError/RangeError); inputs copied on entry; fresh outputs.
import { expect, it } from 'vitest';
import { createSimContext, isValidationError } from '../../src/sim/index.js';
import { ImageLoader, MemoryBlockDevice, ProtectedDisk, RootOfTrust, Verifier, buildImage, decodeQuote, imageDisk, parseImage } from '../../src/attestation/index.js';
import { P, sampleImage, setup } from './helpers.js';

const misuse = (f: () => unknown): boolean => {
  try {
    f();
  } catch (e) {
    return isValidationError(e);
  }
  return false;
};

it('public functions reject misuse with validation errors', () => {
  const { host, verifier } = setup();
  const s = host.service;
  expect(misuse(() => s.registerVm(9, { image: sampleImage(), mode: 'boxed' as never }))).toBe(true);
  expect(misuse(() => s.registerVm(-1, { image: sampleImage(), mode: 'closed' }))).toBe(true);
  expect(misuse(() => s.registerVm(9, { image: 'x' as never, mode: 'closed' }))).toBe(true);
  expect(misuse(() => s.quote(1, new Uint8Array(4)))).toBe(true);
  expect(misuse(() => s.quote(1, new Uint8Array(32), { boundKey: new Uint8Array(31) }))).toBe(true);
  expect(misuse(() => s.endorse(1, { alg: 'rsa' as never, publicKey: new Uint8Array(32) }))).toBe(true);
  expect(misuse(() => s.endorse(1, { alg: 'ed25519', publicKey: [1, 2] as never }))).toBe(true);
  expect(misuse(() => s.seal(1, '', new Uint8Array(1)))).toBe(true);
  expect(misuse(() => s.seal(1, 'l', new Uint8Array(1), 'forever' as never))).toBe(true);
  expect(misuse(() => verifier.verify('quote' as never, new Uint8Array(32)))).toBe(true);
  expect(misuse(() => verifier.verify(new Uint8Array(10), new Uint8Array(2)))).toBe(true);
  expect(misuse(() => new Verifier(createSimContext(), P, [], {}))).toBe(true);
  expect(misuse(() => buildImage(P, new Uint8Array(0), { name: 'x' }))).toBe(true);
  expect(misuse(() => buildImage(P, new Uint8Array(10), { name: 'x', blockSize: 1000 }))).toBe(true);
  const rot = new RootOfTrust(createSimContext(), P);
  expect(misuse(() => rot.seal(new Uint8Array(1), [2, 1]))).toBe(true);
  expect(misuse(() => rot.boot({ firmware: new Uint8Array(0), bootloader: new Uint8Array(1), tvmm: new Uint8Array(1) }))).toBe(true);
  const img = parseImage(P, sampleImage());
  expect(misuse(() => new ImageLoader(createSimContext(), P, img, imageDisk(img), 'eager' as never))).toBe(true);
  expect(misuse(() => new ImageLoader(createSimContext(), P, img, new MemoryBlockDevice(512, 64), 'optimistic'))).toBe(true);
  const dev = new MemoryBlockDevice(512, 32);
  expect(misuse(() => ProtectedDisk.format(createSimContext(), P, dev, { cls: 'encrypted', diskId: 'd' }))).toBe(true);
  const d = ProtectedDisk.format(createSimContext(), P, dev, { cls: 'integrity', key: new Uint8Array(32), diskId: 'd' });
  expect(misuse(() => d.write(0, new Uint8Array(100)))).toBe(true);
  expect(misuse(() => d.read(d.blocks, 1))).toBe(true);
});

it('inputs are copied on entry and outputs are fresh', () => {
  const { host } = setup();
  const nonce = new Uint8Array(32).fill(1);
  const q = host.service.quote(1, nonce);
  nonce.fill(2);
  expect(decodeQuote(q).claims.nonce).toEqual(new Uint8Array(32).fill(1));
  const a = host.service.getId(1).primary;
  a.fill(0);
  expect(host.service.getId(1).primary).not.toEqual(a);
  const c = host.service.chain(1);
  c[0].fill(0);
  expect(host.service.chain(1)[0]).not.toEqual(c[0]);
  const pcr = host.rot.readPcr(0);
  pcr.fill(9);
  expect(host.rot.readPcr(0)).not.toEqual(pcr);
});
