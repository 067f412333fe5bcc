/**
 * Every experiment, in listing order. Each area adds its experiments from its own module with one
 * spread line below (keep one line per module to avoid edit conflicts).
 */
import type { Experiment } from './types.js';
import { storageExperiments } from './storage.js';
import { terraExperiments } from './terra.js';
import { esxExperiments } from './esx.js';

export const EXPERIMENTS: readonly Experiment[] = [
  ...storageExperiments,
  // area modules add: ...esxExperiments, ...dedeExperiments, ...vicExperiments, ...terraExperiments
  ...terraExperiments,
  ...esxExperiments,
];

/** Finds an experiment by id. */
export function findExperiment(id: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.id === id);
}
