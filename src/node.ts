/**
 * `terracloak/node`: Node.js-only additions. The core entry (src/index.ts) imports no Node module
 * so that it runs in browsers; this entry adds the node:crypto provider.
 */
/** The node:crypto CryptoProvider (byte-identical to nobleProvider) and its HChaCha20 helper. */
export { nodeProvider, hchacha20 } from './crypto/node.js';
