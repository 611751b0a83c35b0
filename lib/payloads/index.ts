export * from './open-data-payload.dto.js';
export * from './phone-number.dto.js';
export * from './share-info.dto.js';
export * from './to-payload.js';
export * from './user-info.dto.js';
export * from './watermark.dto.js';
export * from './we-run-data.dto.js';
