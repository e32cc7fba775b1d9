import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    // Tests start real loopback servers; keep workers few on a 2-core machine.
    maxWorkers: 2,
  },
});
