// Smoke test of examples/attested-bank.ts: session established, secret delivered, tampered image refused.
import { expect, it } from 'vitest';
import { main } from '../../examples/attested-bank.js';

it('the attested bank example establishes a bound session and refuses the one-byte-changed image', () => {
  const s = main();
  expect(s.sessionEstablished).toBe(true);
  expect(s.secretDelivered).toBe(true);
  expect(s.checks).toBe(11);
  expect(s.tamperedImage).toEqual({ refused: true, check: 'MEASUREMENT_MISMATCH', secretSent: false });
  expect(main()).toEqual(s);
});

it('the walkthrough log names every step', () => {
  const lines: string[] = [];
  main(7, (l) => lines.push(l));
  expect(lines).toHaveLength(5);
  expect(lines[2]).toContain('mode ✓');
  expect(lines[4]).toContain('MEASUREMENT_MISMATCH');
});
