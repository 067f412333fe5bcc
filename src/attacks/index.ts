/** src/attacks: the threat catalogue as runnable scenarios. */
export * from './types.js';
export * from './registry.js';
