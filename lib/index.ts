export * from './api/index.js';
export * from './core/index.js';
export * from './nest/index.js';
export * from './payloads/index.js';
export * from './session/index.js';
export * from './stores/index.js';
