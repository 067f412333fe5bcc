import { describe, expect, it } from 'vitest';
import { findAttack } from '../../src/attacks/index.js';
import { mem02World, secretPage } from '../../src/attacks/memory.js';

describe('MEM-02 · COW-break timing reveals page equality across VMs', () => {
  it('is blocked in the default (salted) configuration', async () => {
    expect((await findAttack('MEM-02')!.run(3)).outcome).toBe('blocked');
  });
  it('default: identical attacker traces; same-salt control: the harness detects the leak', () => {
    const G = secretPage(9, 'G');
    const G2 = G.slice();
    G2[7] ^= 1;
    expect(mem02World(9, G, G, false)).toEqual(mem02World(9, G2, G, false));
    const leak = mem02World(9, G, G, true), noLeak = mem02World(9, G2, G, true);
    expect(leak.faults).toBe(1);
    expect(noLeak.faults).toBe(0);
    expect(leak.tWrite).toBeGreaterThan(noLeak.tWrite);
  });
});
