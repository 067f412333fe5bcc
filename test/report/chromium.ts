/**
 * Headless Chromium for the browser tests (Debian's /usr/bin/chromium through playwright-core).
 * Tests skip only when chromium is absent AND `CI` is unset; in CI a missing browser fails.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** Path of the browser binary (override with CHROMIUM_PATH). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** True when the browser tests must be skipped (no chromium, not in CI). */
export const skipBrowser = !existsSync(CHROMIUM_PATH) && !process.env.CI;

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A launched browser with a fresh user-data dir; `close()` removes it. */
export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Launches chromium with a fresh profile (persistent context on a temp dir). */
export async function launch(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`chromium not found at ${CHROMIUM_PATH}: run .ci/install-chromium.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'terracloak-chromium-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS });
  return {
    context,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type { Browser };
