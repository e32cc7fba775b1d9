import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // Tests start real loopback servers; keep workers few on a 2-core machine.
    maxWorkers: 2,
    // Handlers built with defaultDeps() log through Powertools; tests read logs through a
    // recording Log instead, so keep the JSON lines and metric lines out of the report.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
  },
});
