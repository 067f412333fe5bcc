/**
 * Every implemented threat scenario. Each area adds its scenarios from its own module with one
 * spread line below (one line per module to avoid edit conflicts).
 */
import type { AttackScenario } from './types.js';
import { storageAttacks } from './storage.js';
import { attestAttacks } from './attest.js';
import { memAttacks } from './memory.js';
import { cloakAttacks } from './cloak.js';
import { platformAttacks } from './platform.js';

export const ATTACKS: readonly AttackScenario[] = [
  ...storageAttacks,
  // area modules add: ...cloakAttacks, ...attestAttacks, ...memAttacks, ...storageAttacks, ...isoAttacks
  ...attestAttacks,
  ...memAttacks,
  ...cloakAttacks,
  ...platformAttacks,
];

/** Finds a scenario by id (case-insensitive). */
export function findAttack(id: string): AttackScenario | undefined {
  return ATTACKS.find((a) => a.id.toLowerCase() === id.toLowerCase());
}
