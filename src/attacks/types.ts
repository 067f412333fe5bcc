/**
 * A threat-catalogue scenario (../shared/reference/threats.md) that can run on its own: used by
 * `test/attacks/<ID>.test.ts` and by `terracloak attacks`.
 */
export type AttackArea = 'CLK' | 'ATT' | 'ISO' | 'MEM' | 'STO' | 'FLT' | 'VAL';

/** `blocked`: the attack could not happen; `detected`: it happened and was caught (typed error, halt, termination); `LEAKED`: it succeeded or went undetected. */
export type AttackOutcome = 'blocked' | 'detected' | 'LEAKED';

export interface AttackScenario {
  /** Catalogue id, e.g. `CLK-03`. */
  readonly id: string;
  readonly area: AttackArea;
  /** One line: what the attacker does. */
  readonly attack: string;
  /** One line: the catalogue's expected outcome. */
  readonly expected: string;
  /** Runs the scenario deterministically from `seed`. Must never throw for an attack that was stopped. */
  run(seed: number): AttackReport | Promise<AttackReport>;
}

export interface AttackReport {
  readonly outcome: AttackOutcome;
  /** Human-readable evidence: the error code, the halt reason, the check that caught it. */
  readonly detail: string;
}
