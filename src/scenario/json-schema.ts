/** The scenario schema as JSON Schema (draft 2020-12), the text committed at docs/scenario.schema.json. */
import { z } from 'zod';
import { ScenarioSchema } from './schema.js';

/** Returns the JSON Schema of a scenario file as pretty-printed text ending in a newline (deterministic). */
export function scenarioJsonSchema(): string {
  const schema = z.toJSONSchema(ScenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const out = {
    $schema: schema.$schema,
    title: 'terracloak scenario',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
