import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'tools/bench', 'tools/scripts/vitest.config.mjs'],
  },
});
