import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (beside the code, no services) and `integration` (tests/, real
 * PostgreSQL, S3, clamd, browsers; servers on real sockets, so files run one at a time).
 */
export default defineConfig({
  // The contract package from source: tests see an edit to api/src without a rebuild.
  resolve: { alias: { '@haul/api': fileURLToPath(new URL('./api/src/index.ts', import.meta.url)) } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['api/src/**/*.test.ts', 'server/src/**/*.test.ts', 'client-sdk/src/**/*.test.ts', 'demo-app/src/**/*.test.ts', 'bench/lib/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        extends: true,
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
