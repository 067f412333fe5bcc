import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scenarioJsonSchema } from '../../src/scenario/index.js';

describe('docs/scenario.schema.json', () => {
  it('is the committed output of scripts/gen-schema.ts (run it after changing the schema)', () => {
    const committed = readFileSync(fileURLToPath(new URL('../../docs/scenario.schema.json', import.meta.url)), 'utf8');
    expect(committed).toBe(scenarioJsonSchema());
  });
  it('describes the top-level fields and requires the essentials', () => {
    const s = JSON.parse(scenarioJsonSchema()) as { type: string; required: string[]; properties: Record<string, { type?: string }>; additionalProperties: boolean };
    expect(s.type).toBe('object');
    expect(s.required).toEqual(expect.arrayContaining(['version', 'name', 'durationMs', 'hosts', 'vms']));
    expect(s.properties.hosts.type).toBe('array');
    expect(s.additionalProperties).toBe(false);
  });
});
