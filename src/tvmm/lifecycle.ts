/**
 * The VM lifecycle, written as data (Terra SOSP'03 §4.3 management interface: ON/OFF,
 * SUSPEND/RESUME; halting on a security violation). Every transition not in the table is refused
 * with TerraError('INVALID_STATE') and changes nothing.
 */
export type VmState = 'created' | 'running' | 'suspended' | 'off' | 'halted' | 'destroyed';
export type VmAction = 'on' | 'off' | 'suspend' | 'resume' | 'halt' | 'destroy';

/** state → action → next state. */
export const VM_TRANSITIONS: Readonly<Record<VmState, Partial<Record<VmAction, VmState>>>> = Object.freeze({
  created: { on: 'running', destroy: 'destroyed' },
  running: { suspend: 'suspended', off: 'off', halt: 'halted' },
  suspended: { resume: 'running', off: 'off', halt: 'halted' },
  off: { on: 'running', destroy: 'destroyed' },
  halted: { off: 'off', destroy: 'destroyed' },
  destroyed: {},
});

/** The next state, or undefined when `action` is not allowed in `state`. */
export function nextState(state: VmState, action: VmAction): VmState | undefined {
  return VM_TRANSITIONS[state][action];
}
