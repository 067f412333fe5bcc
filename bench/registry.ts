/** Every benchmark section, one import line per area module (keep one line each to avoid edit conflicts). */
import type { BenchSection } from './types.js';
import { hardenBench } from './harden.js';
import { dedupBench, vicBench } from './storage.js';
import { attestBench } from './attest.js';
import { sharingBench } from './memory.js';
import { accessBench, scaleBench } from './access.js';
import { cloakBench } from './cloak.js';
import { productBench } from './product.js';

export const SECTIONS: BenchSection[] = [
  hardenBench, // first: it measures before any Host hardens the realm
  dedupBench, vicBench,
  accessBench,
  scaleBench,
  // area modules add: accessBench, scaleBench, sharingBench, cloakBench, attestBench, dedupBench, vicBench
  attestBench,
  sharingBench,
  cloakBench,
  productBench,
];
