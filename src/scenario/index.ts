/** src/scenario: the scenario file format (zod schema, JSON Schema, parser with field-naming errors). */
export * from './schema.js';
export * from './parse.js';
export { scenarioJsonSchema } from './json-schema.js';
