import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'CommonJS', moduleResolution: 'node10', esModuleInterop: true, target: 'ES2022', lib: ['ES2023', 'ES2024.String'], types: ['node', 'jest'], isolatedModules: true } }],
  },
  // Sources import './x.js' (as Node ESM requires); under ts-jest the .ts file is meant.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30_000,
  // test/helpers/exit-watch.cjs: a handle a test leaks is named, and cannot hang the run.
  reporters: ['default', '<rootDir>/test/helpers/exit-watch.cjs'],
};

export default config;
