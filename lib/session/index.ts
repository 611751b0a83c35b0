export * from './errors.js';
export * from './replay.js';
export * from './session.js';
export * from './session-store.js';
export * from './token.js';
export * from './login-codes.js';
