import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../scripts/build-web.js';
import { launch, skipBrowser, type TestBrowser } from '../report/chromium.js';

describe.skipIf(skipBrowser)('the browser demo (examples/web) in headless Chromium', () => {
  let browser: TestBrowser;
  let dir: string;
  let html: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'terracloak-web-'));
    ({ html } = await buildWeb(dir));
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('bundles without Node-only modules', () => {
    const js = readFileSync(join(dir, 'app.js'), 'utf8');
    expect(js).not.toMatch(/require\(["'](node:|fs|path|child_process|crypto)["']/);
    expect(js.length).toBeGreaterThan(10_000);
  });

  it('loads without console errors and shows the app view and the kernel view of each step', async () => {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    await page.waitForSelector('#status[data-state="done"], #status[data-state="failed"]', { timeout: 30_000 });
    expect(await page.getAttribute('#status', 'data-state')).toBe('done');

    const plain = page.locator('section[data-run="plain"]');
    expect(await plain.locator('article.step').count()).toBe(3);
    for (const step of ['write', 'dump', 'tamper']) {
      const app = plain.locator(`article[data-step="${step}"] pre[data-view="app"]`);
      const kernel = plain.locator(`article[data-step="${step}"] pre[data-view="kernel"]`);
      expect(await app.isVisible()).toBe(true);
      expect(await kernel.isVisible()).toBe(true);
      // Side by side: same row, app on the left.
      const [a, k] = [await app.boundingBox(), await kernel.boundingBox()];
      expect(a && k && a.width > 100 && k.width > 100 && a.x < k.x && Math.abs(a.y - k.y) < 40).toBe(true);
    }
    const dump = plain.locator('article[data-step="dump"]');
    expect(await dump.locator('pre[data-view="kernel"]').innerText()).toContain('|card 4111 1111 1|');
    expect(await dump.locator('.verdict').innerText()).toBe('LEAKED');
    expect(await plain.locator('article[data-step="tamper"] pre[data-view="app"]').innerText()).toContain('|EVIL: pay to att|');
    const cloaked = page.locator('section[data-run="cloaked"]');
    expect(await cloaked.locator('article.step').count()).toBe(3);
    const cdump = cloaked.locator('article[data-step="dump"]');
    expect(await cdump.locator('pre[data-view="app"]').innerText()).toContain('|card 4111 1111 1|');
    expect(await cdump.locator('pre[data-view="kernel"]').innerText()).not.toContain('card 4111');
    expect(await cdump.locator('.verdict').innerText()).toBe('blocked');
    expect(await cloaked.locator('article[data-step="tamper"] .verdict').innerText()).toBe('detected');
    expect(await cloaked.locator('article[data-step="tamper"] pre[data-view="app"]').innerText()).toBe('(terminated)');
    expect(await cloaked.locator('ul.security').innerText()).toContain('cloak.violation');
    for (const run of ['plain', 'cloaked']) {
      const link = page.locator(`a[data-trace="${run}"]`);
      expect(await link.getAttribute('href')).toMatch(/^blob:/);
      const text = await page.evaluate(async (u) => (await fetch(u)).text(), (await link.getAttribute('href'))!);
      expect(JSON.parse(text).displayTimeUnit).toBe('ns');
    }
    expect(problems).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('blob:'))).toEqual([]);
    await page.close();
  });
});
