import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (beside the code, no services) and `integration` (tests/, real
 * PostgreSQL, S3, clamd, browsers; servers on real sockets, so files run one at a time).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['server/src/**/*.test.ts', 'client-sdk/src/**/*.test.ts', 'demo-app/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          globalSetup: ['tests/setup/global-setup.ts'],
        },
      },
    ],
  },
});
