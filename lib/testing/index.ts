export * from './open-data-fixtures.js';
