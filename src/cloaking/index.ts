/**
 * src/cloaking: Overshadow-style memory cloaking (Chen et al., ASPLOS'08): the cloak engine
 * (multi-shadowing, per-page state machine, metadata, CTC), cipher suites, the shim, and the
 * persistent store for the secret and freshness counters. Attach with {@link attachCloaking}.
 */
import { checkObject } from '../sim/index.js';
import type { Tvmm } from '../tvmm/index.js';
import { CloakEngine, type CloakOptions } from './engine.js';
import { wrapWithShim } from './shim.js';

export {
  CloakEngine, CloakState, CLOAK_STATE_NAMES, CLOAK_HC, CLOAK_FILE_OP,
  type CloakOptions, type CloakStats, type CloakViolation, type ViolationKind, type ViolationPolicy,
} from './engine.js';
export { CLOAK_SUITES, PageCipher, suiteGeometry, BINDING_BYTES, type CloakSuiteName, type SuiteGeometry } from './suites.js';
export { MemoryNvStore, type CloakNvStore } from './nv.js';
export { SHIM_BUFFER_PAGES, META_SUFFIX, COW_SUFFIX, META_SLOT_BYTES, type CloakedProc } from './shim.js';

const attached = new WeakSet<object>();

/**
 * Attaches a cloaking engine to a TVMM: installs the MMU hook, the execution hooks (shim, CTC) and
 * the CLOAK_* hypercalls. Throws TypeError/RangeError on bad options, RangeError when the TVMM
 * already has cloaking hypercalls registered (attach once per TVMM).
 */
export function attachCloaking(tvmm: Tvmm, opts: CloakOptions = {}): CloakEngine {
  checkObject('tvmm', tvmm);
  checkObject('opts', opts);
  if (attached.has(tvmm)) throw new RangeError('this TVMM already has a cloaking engine attached');
  const engine = new CloakEngine(tvmm, opts, wrapWithShim);
  engine.registerHypercalls();
  tvmm.mmu.cloak = engine.hook;
  tvmm.setExecHooks(engine.execHooks);
  attached.add(tvmm);
  return engine;
}

import * as self from './index.js';
import { lockExportedClasses } from '../sim/index.js';

// Guests can import this module: its classes must not be patchable (test/redteam/FINDINGS.md).
lockExportedClasses(self);
