export * from './open-data-fixtures.js';
export * from './fake-wechat/index.js';
export * from './mini-program-client.js';
export * from './api-security-fixtures.js';
