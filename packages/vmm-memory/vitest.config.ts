import { defineProject } from 'vitest/config';

export default defineProject({
  ssr: { resolve: { conditions: ['@vmkd/source'] } },
  test: {
    name: 'vmm-memory',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
