export * from './errors.js';
export { decryptAes128Cbc } from './aes.js';
export * from './decrypt.js';
export * from './identity.js';
export { forgetSessionKey } from './key-cache.js';
export * from './signature.js';
export * from './watermark.js';
export * from './envelope.js';
