export * from './memory-session-store.js';
