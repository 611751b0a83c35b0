export {
  FakeWeChatServer,
  type FakeWeChatEndpoint,
  type FakeWeChatFault,
  type FakeWeChatMode,
  type FakeWeChatServerOptions,
} from './fake-wechat-server.js';
export type {
  FakePhoneNumberSpec,
  FakeWeChatApp,
  FakeWeChatUser,
  FakeWeChatUserSpec,
} from './fake-wechat-model.js';
export { mintPlatformCertificate, type FakePlatformCertificateSpec } from './fake-wechat-certificate.js';
export type { FakeAnswerTampering, FakeWeChatApiSecurity } from './fake-wechat-security.js';
export type { FakePaymentSpec, FakeUserEncryptKey } from './fake-wechat-more-apis.js';
