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
import * as self from './index.js';
import { lockExportedClasses } from '../sim/index.js';

// Guests can import this module: its classes (MemoryManager, MachineMemory, …) must not be patchable.
lockExportedClasses(self);
