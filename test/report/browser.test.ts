import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/index.js';
import { launch, skipBrowser, type TestBrowser } from './chromium.js';
import { fullReport } from './fixture.js';

describe.skipIf(skipBrowser)('the report in headless Chromium', () => {
  let browser: TestBrowser;
  let dir: string;
  beforeAll(async () => {
    browser = await launch();
    dir = mkdtempSync(join(tmpdir(), 'terracloak-report-'));
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens offline from file:// without errors, and every chart has drawn marks', async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReport(fullReport()));
    const page = await browser.context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

    const charts = await page.$$eval('svg[data-chart]', (svgs) =>
      svgs.map((svg) => {
        const marks = Array.from(svg.querySelectorAll('.mark')).map((m) => (m as SVGGraphicsElement).getBoundingClientRect());
        const box = svg.getBoundingClientRect();
        return {
          id: svg.getAttribute('data-chart'),
          width: box.width,
          height: box.height,
          marks: marks.length,
          drawn: marks.filter((b) => b.width > 0 || b.height > 0).length,
          areas: marks.filter((b) => b.width > 0 && b.height > 0).length,
          inside: marks.every((b) => b.left >= box.left - 4 && b.right <= box.right + 4 && b.top >= box.top - 4 && b.bottom <= box.bottom + 4),
        };
      }),
    );
    expect(charts.length).toBe(7);
    for (const c of charts) {
      expect(c.width, c.id!).toBeGreaterThan(100);
      expect(c.height, c.id!).toBeGreaterThan(100);
      expect(c.marks, c.id!).toBeGreaterThan(0);
      expect(c.drawn, c.id!).toBe(c.marks);
      expect(c.areas, c.id!).toBeGreaterThan(0);
      expect(c.inside, c.id!).toBe(true);
    }
    // The hostile strings are shown as text, not run.
    expect(await page.title()).toBe('terracloak demo <script>alert(1)</script>');
    expect(await page.locator('table[data-table="attacks"]').innerText()).toContain('<img src=x onerror=alert(1)>');
    expect(await page.locator('img').count()).toBe(0);
    expect(problems).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    await page.close();
  });
});
