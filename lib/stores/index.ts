export * from './memory-session-store.js';
export * from './redis/index.js';
export * from './cache-manager/index.js';
