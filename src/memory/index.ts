/** src/memory: machine memory, pmaps, and the one memory manager for every VM (ESX). */
export * from './machine.js';
export * from './pmap.js';
export * from './manager.js';
