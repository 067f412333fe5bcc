import { describe, expect, it } from 'vitest';
import { barChart, esc, fmt, lineChart, MAX_POINTS_PER_SERIES, niceTicks, renderReport } from '../../src/report/index.js';
import { fullReport } from './fixture.js';

/** Splits the report into its chart SVGs, keyed by data-chart. */
function charts(html: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const x of html.matchAll(/<svg data-chart="([^"]+)"[\s\S]*?<\/svg>/g)) m.set(x[1], x[0]);
  return m;
}

describe('renderReport', () => {
  const html = renderReport(fullReport());

  it('is one self-contained document: no script, no external URL', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<[^>]*\s(src|href|xlink:href)=/i);
    expect(html).not.toMatch(/url\(/i);
    // The only URL is the SVG namespace identifier (not fetched).
    expect([...html.matchAll(/https?:\/\/[^"\s<]+/g)].map((m) => m[0]).every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect(html).toContain("default-src 'none'");
  });

  it('draws every chart with marks, a title, axis labels with units and a legend', () => {
    const c = charts(html);
    expect([...c.keys()].sort()).toEqual(['attack-outcomes', 'dedup-savings', 'interrupt-latency', 'interrupt-rate', 'memory-reclaimed', 'memory-resident', 'memory-savings']);
    for (const [id, svg] of c) {
      const marks = (svg.match(/class="(line|bar|band|point) mark"/g) ?? []).length;
      expect(marks, id).toBeGreaterThan(0);
      expect((svg.match(/<(path|rect|circle)\b/g) ?? []).length, id).toBeGreaterThan(0);
      expect(svg, id).toMatch(/class="chart-title"/);
      expect((svg.match(/class="axis-label"/g) ?? []).length, id).toBe(2);
      expect(svg, id).toMatch(/class="axis-label"[^>]*>[^<]*\([^)]+\)</); // a unit in parentheses
      expect(svg, id).toMatch(/<g class="legend">.*<text/);
    }
  });

  it('shades the four reclamation states', () => {
    const svg = charts(html).get('memory-resident')!;
    for (const s of ['high', 'soft', 'hard', 'low']) expect(svg).toContain(`${s} state`);
    expect((svg.match(/class="band mark"/g) ?? []).length).toBe(4);
    expect((svg.match(/class="line mark"/g) ?? []).length).toBe(4); // 3 VMs + machine memory
  });

  it('escapes all text (XSS-safe)', () => {
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot; &#39;single&#39;');
    expect(html).not.toContain('</table><script>');
    expect(html).not.toContain('<b>not bold</b>');
    expect(esc(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
  });

  it('shows the attack verdict, outcomes and attestation checks', () => {
    expect(html).toContain('3 of 4 attacks stopped, 1 LEAKED');
    expect(html).toMatch(/<td class="LEAKED">LEAKED<\/td>/);
    expect(html).toMatch(/<p class="verdict ok">verified/);
    expect(html).toContain('freshness (nonce)');
    expect(html).toContain('ab'.repeat(32));
  });

  it('is deterministic', () => {
    expect(renderReport(fullReport())).toBe(html);
  });

  it('renders only the sections given; a title alone is a valid report', () => {
    const t = renderReport({ title: 'only a title' });
    expect(t).toContain('<h1>only a title</h1>');
    expect(charts(t).size).toBe(0);
    const a = renderReport({ title: 't', attacks: [] });
    expect(a).toContain('No attacks were run.');
    expect(charts(a).size).toBe(0);
    const m = renderReport({ title: 't', memory: { samples: [{ t: 0, vm: 'x', residentMiB: 3 }] } });
    expect(charts(m).get('memory-resident')).toMatch(/class="point mark"/);
  });

  it('handles long runs: 300k samples render with thinned series (render time: bench `product`)', () => {
    const samples = Array.from({ length: 300_000 }, (_, i) => ({ t: i, vm: `vm${i % 3}`, residentMiB: (i % 1000) / 10, sharedMiB: 1 }));
    const out = renderReport({ title: 'big', memory: { samples, machineMiB: 200 } });
    const svg = charts(out).get('memory-resident')!;
    const d = [...svg.matchAll(/class="line mark" d="([^"]+)"/g)].map((m) => m[1].split('L').length);
    expect(d).toEqual([MAX_POINTS_PER_SERIES, MAX_POINTS_PER_SERIES, MAX_POINTS_PER_SERIES, 2]);
    expect(out.length).toBeLessThan(2_000_000);
  });

  it('converts the time unit to ms', () => {
    const m = renderReport({ title: 't', memory: { timeUnit: 'ns', samples: [{ t: 0, vm: 'x', residentMiB: 1 }, { t: 5e6, vm: 'x', residentMiB: 2 }] } });
    expect(m).toContain('x @ 5: 2');
  });

  it('refuses malformed data with a message that names the field', () => {
    expect(() => renderReport({} as never)).toThrow(/report data\.title/);
    expect(() => renderReport({ title: 't', memory: { samples: [{ t: NaN, vm: 'a', residentMiB: 1 }] } })).toThrow(/report data\.memory\.samples\[0\]\.t: .*NaN/);
    expect(() => renderReport({ title: 't', dedup: [{ label: 'a', logicalMiB: 1, uniqueMiB: 2 }] })).toThrow(/uniqueMiB \(2\) exceeds logicalMiB/);
    expect(() => renderReport({ title: 't', attacks: [{ id: 'a', area: 'b', attack: 'c', expected: 'd', outcome: 'pwned' as never, detail: '' }] })).toThrow(/attacks\[0\]\.outcome/);
  });
});

describe('chart helpers', () => {
  it('niceTicks gives 1/2/5 steps covering the range', () => {
    expect(niceTicks(0, 9.3)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 480)).toEqual([0, 100, 200, 300, 400, 500]);
  });
  it('fmt is stable and short', () => {
    expect(fmt(1 / 3)).toBe('0.333');
    expect(fmt(12.345)).toBe('12.35');
    expect(fmt(1234.56)).toBe('1234.6');
    expect(fmt(-0.0001)).toBe('0');
    expect(fmt(7)).toBe('7');
  });
  it('stacked bars stack and skip zero values', () => {
    const svg = barChart({ id: 'b', title: 't', xLabel: 'x', yLabel: 'y (u)', categories: ['a', 'b'], series: [{ name: 's1', values: [1, 0] }, { name: 's2', values: [2, 3] }], mode: 'stacked' });
    expect((svg.match(/class="bar mark"/g) ?? []).length).toBe(3);
  });
  it('rejects bad chart data', () => {
    expect(() => barChart({ id: 'b', title: 't', xLabel: 'x', yLabel: 'y', categories: ['a'], series: [{ name: 's', values: [-1] }], mode: 'grouped' })).toThrow(RangeError);
    expect(() => barChart({ id: 'b', title: 't', xLabel: 'x', yLabel: 'y', categories: ['a', 'b'], series: [{ name: 's', values: [1] }], mode: 'grouped' })).toThrow(/2 categories/);
    expect(() => lineChart({ id: 'l', title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[0, Infinity]] }] })).toThrow(RangeError);
  });
});
