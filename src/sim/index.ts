/** src/sim: virtual clock, event queue, seeded rng, cost model, trace, Result, errors, brands. */
export * from './errors.js';
export * from './validate.js';
export * from './result.js';
export * from './brands.js';
export * from './clock.js';
export * from './events.js';
export * from './rng.js';
export * from './costs.js';
export * from './trace.js';
export * from './context.js';
export { hardenIntrinsics, intrinsicsHardened, lockClass, lockExportedClasses } from './harden.js';
export { platformRandomBytes } from './entropy.js';
