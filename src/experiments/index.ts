/** src/experiments: the papers' experiments, reproduced in virtual time. */
export * from './types.js';
export * from './registry.js';
