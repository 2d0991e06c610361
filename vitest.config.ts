import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 180_000,
    // Two cores: integration and e2e suites start servers; keep parallelism modest.
    maxWorkers: 2,
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
  },
});
