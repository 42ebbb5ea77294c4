import { defineProject } from 'vitest/config';

// 30 s per test, as the packages have: the layer checks read every source file and the command
// tests start Node children, both several times slower with both cores busy or under Wine.
export default defineProject({ test: { name: 'scripts', include: ['**/*.test.mjs'], testTimeout: 30_000, hookTimeout: 30_000 } });
