/**
 * Config for the slow suites: the root vitest.config.ts excludes test/slow/** even when SLOW=1, so
 * run them with `npx vitest run --config test/slow/vitest.config.ts` (suggested for `npm run test:slow`).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/slow/**/*.test.ts'],
    testTimeout: 900_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
