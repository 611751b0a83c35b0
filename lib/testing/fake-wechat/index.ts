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
export type { FakePaymentSpec, FakeUserEncryptKey } from './fake-wechat-more-apis.js';
