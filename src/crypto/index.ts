/** src/crypto: one provider interface, noble (default) and node:crypto (optional, identical bytes). */
export * from './provider.js';
export { nobleProvider, equalBytes, checkAead, AEAD_SUITES, SIG_ALGS } from './noble.js';
export * from './encoding.js';
