/**
 * terracloak — the public library surface. The core imports no Node-only module (it runs in
 * browsers); `terracloak/node` adds the node:crypto backend and file-backed stores, and
 * `terracloak/testing` the adversary toolkit.
 *
 * Top level: the simulation substrate (`src/sim`) and the machine (`src/tvmm`). Each mechanism is a
 * namespace: `memory` (ESX), `guest`, `cloaking` (Overshadow), `attestation` (Terra), `storage`
 * (DeDe, vIC), plus `report`, `scenario`, `traceExport`, `experiments`, `attacks`.
 */
export * from './sim/index.js';
export * from './tvmm/index.js';
export * as crypto from './crypto/index.js';
export * as memory from './memory/index.js';
export * as guest from './guest/index.js';
export * as cloaking from './cloaking/index.js';
export * as attestation from './attestation/index.js';
export * as storage from './storage/index.js';
export * as report from './report/index.js';
export * as scenario from './scenario/index.js';
export * as traceExport from './trace-export/index.js';
export * as experiments from './experiments/index.js';
export * as attacks from './attacks/index.js';
export { nobleProvider, type CryptoProvider } from './crypto/index.js';
export { GuestKernel, bootGuest, BUILTIN_PROGRAMS, libc } from './guest/index.js';
export { attachCloaking } from './cloaking/index.js';
export { runScenario } from './runner/index.js';
export { runDemo } from './demo/index.js';
