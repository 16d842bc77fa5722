import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites share one PostgreSQL and one Redis; each uses its own schema or prefix,
    // but two cores are better spent on fewer, larger workers.
    maxWorkers: 2,
  },
});
