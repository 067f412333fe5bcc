/** src/memory: machine memory, pmaps, and the one memory manager for every VM (ESX). */
export * from './machine.js';
export * from './pmap.js';
export * from './manager.js';
export * from './hash.js';
export * from './sharing.js';
export * from './swap.js';
export * from './balloon.js';
export * from './allocation.js';
export * from './esx.js';
