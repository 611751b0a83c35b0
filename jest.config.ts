import type { Config } from 'jest';

/**
 * Jest in native ESM mode (`node --experimental-vm-modules`): NestJS 12 is ESM-only, and on
 * Node 20 Jest loads ESM packages only this way. The same setup runs against NestJS 11.
 */
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  // The consumer apps run in their own tooling against the packed tarball (scripts/consumers.mjs).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/consumers/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    // Source imports carry the `.js` of their compiled output (NodeNext); map them back to `.ts`.
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^nestjs-wx-open-data$': '<rootDir>/lib/entries/index.ts',
    '^nestjs-wx-open-data/core$': '<rootDir>/lib/entries/core.ts',
    '^nestjs-wx-open-data/redis$': '<rootDir>/lib/entries/redis.ts',
    '^nestjs-wx-open-data/testing$': '<rootDir>/lib/testing/index.ts',
    '^nestjs-wx-open-data/swagger$': '<rootDir>/lib/swagger/index.ts',
    '^nestjs-wx-open-data/terminus$': '<rootDir>/lib/terminus/index.ts',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  reporters: ['default', '<rootDir>/scripts/summary-reporter.js'],
  globalSetup: '<rootDir>/scripts/jest-global-setup.js',
  globalTeardown: '<rootDir>/scripts/jest-global-teardown.js',
  setupFiles: ['<rootDir>/test/setup.ts'],
  testTimeout: 30_000,
};

export default config;
