import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderReport, type ReportData } from '../../src/report/index.js';

/** A report whose every text field is `s`. */
function withText(s: string): ReportData {
  return {
    title: s,
    subtitle: s,
    generator: s,
    summary: [{ label: s, value: s, status: 'ok' }],
    memory: { samples: [{ t: 0, vm: s, residentMiB: 1, sharedMiB: 1 }, { t: 1, vm: s, residentMiB: 2, sharedMiB: 1 }] },
    interrupts: [{ cif: 2, interruptsPerCompletion: 0.5, addedLatencyUs: 3, vic: true, label: s }],
    dedup: [{ label: s, logicalMiB: 2, uniqueMiB: 1 }],
    attacks: [{ id: s, area: s, attack: s, expected: s, outcome: 'blocked', detail: s }],
    attestation: { verified: false, subject: s, checks: [{ name: s, ok: false, detail: s }] },
    trace: { events: 1, digest: s },
    notes: [s],
  };
}

/** The document's skeleton: every tag with its attribute names, attribute values blanked. */
function tags(html: string): string {
  return (html.match(/<[^>]*>/g) ?? []).map((t) => t.replace(/"[^"]*"/g, '""')).join('');
}

describe('text never changes the document structure (fast-check)', () => {
  const baseline = tags(renderReport(withText('x')));
  it('holds for arbitrary non-empty strings, including markup and quotes (an empty subtitle is omitted)', () => {
    const hostile = fc.oneof(
      fc.string({ minLength: 1, maxLength: 80, unit: 'binary' }),
      fc.constantFrom('<script>alert(1)</script>', '"><svg onload=alert(1)>', "'><img src=x onerror=alert(1)>", '</style><script>', '<!--', ']]>', '&lt;', '\u2028\u2029', 'javascript:alert(1)'),
      fc.array(fc.constantFrom('<', '>', '&', '"', "'", '/', 'a', ' ', '='), { minLength: 1, maxLength: 40 }).map((a) => a.join('')),
    );
    fc.assert(
      fc.property(hostile, (s) => {
        const html = renderReport(withText(s));
        // Escaped text changes neither the tags nor the attributes (no injected element or handler).
        expect(tags(html)).toBe(baseline);
        expect(html).not.toMatch(/<script|<img|<svg onload/i);
      }),
      { seed: 21, numRuns: 200 },
    );
  });
});
