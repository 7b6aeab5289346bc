// Unit suite: sources run through @swc/jest (no type checking here: `npm run typecheck` does that, ~10× faster
// overall). The boot tier (real Debian roots) has its own config, jest.boot.config.js; tests that run the cdktf CLI
// or take over a second (__tests__/integration/) have jest.integration.config.js.
module.exports = {
  testEnvironment: 'node',
  // jest uses cores - 1 workers by default: one on this 2-core machine. Two finish the suite ~25% sooner.
  maxWorkers: 2,
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/boot/', '<rootDir>/__tests__/integration/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  setupFiles: ['<rootDir>/__tests__/fast-stack-traces.ts'],
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};
