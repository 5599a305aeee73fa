import { defineConfig } from 'vitest/config';

// One run starts DynamoDB Local and fauxqs once (test/setup/global-rig.ts);
// each test isolates itself with its own table and queue names.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-rig.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
    reporters: ['default'],
  },
});
