/** Every benchmark section, one import line per area module (keep one line each to avoid edit conflicts). */
import type { BenchSection } from './types.js';

export const SECTIONS: BenchSection[] = [
  // area modules add: accessBench, scaleBench, sharingBench, cloakBench, attestBench, dedupBench, vicBench
];
