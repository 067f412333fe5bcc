/**
 * `terracloak/node`: Node.js-only additions. The core entry (src/index.ts) imports no Node module
 * so that it runs in browsers; this entry adds the node:crypto provider (byte-identical to noble),
 * the file-backed cluster-volume store and the file-backed host swap store.
 */
export { nodeProvider, hchacha20 } from './crypto/node.js';
export * from './storage/node.js';
export * from './memory/node.js';
