// Every layer's exports, for the library's own tests and tools. Not an entry point of the
// package: those are lib/entries/{index,core,redis}.ts, lib/testing/index.ts and
// lib/swagger/index.ts (package.json "exports"; their surface is in scripts/api/*.api.md).
export * from './api/index.js';
export * from './core/index.js';
export * from './nest/index.js';
export * from './payloads/index.js';
export * from './session/index.js';
export * from './stores/index.js';
