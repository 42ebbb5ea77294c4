import { defineProject } from 'vitest/config';

export default defineProject({
  ssr: { resolve: { conditions: ['@vmkd/source'] } },
  test: {
    name: 'gdb-remote',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
