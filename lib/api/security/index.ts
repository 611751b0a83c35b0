export type { WxApiSecurityEnvelope } from './api-security-crypto.js';
export {
  WX_API_SECURITY_ENDPOINTS,
  type WxApiPlatformCertificate,
  type WxApiSecurityEndpoint,
  type WxApiSecurityOptions,
} from './api-security-options.js';
