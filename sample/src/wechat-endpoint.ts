import { Logger, Module, type OnApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { FakeWeChatServer } from 'nestjs-wx-open-data/testing';

/** Where the sample reaches WeChat: the real API, or the embedded fake. */
export interface WeChatEndpoint {
  appId: string;
  appSecret: string;
  apiBaseUrl?: string;
  /** Set when the sample runs against its embedded fake WeChat. */
  fake?: FakeWeChatServer;
}

export const WECHAT_ENDPOINT = Symbol('WECHAT_ENDPOINT');

/** The AppID the embedded fake serves when WX_APP_ID is not set. */
const FAKE_APP_ID = 'wx0123456789abcdef';

/**
 * Without WX_API_BASE_URL and WX_APP_SECRET the sample cannot reach WeChat, so it starts the
 * library's fake on a loopback port and logs that it did.
 */
async function resolveEndpoint(config: ConfigService): Promise<WeChatEndpoint> {
  const appId = config.get<string>('WX_APP_ID') || FAKE_APP_ID;
  const appSecret = config.get<string>('WX_APP_SECRET');
  const apiBaseUrl = config.get<string>('WX_API_BASE_URL');
  if (appSecret || apiBaseUrl) {
    if (!appSecret) throw new Error('WX_APP_SECRET is required when WX_API_BASE_URL is set');
    return { appId, appSecret, apiBaseUrl: apiBaseUrl || undefined };
  }
  const fakeSecret = 'fake-secret-of-the-embedded-wechat';
  const fake = new FakeWeChatServer({ apps: [{ appId, appSecret: fakeSecret }] });
  const baseUrl = await fake.start();
  new Logger('Sample').log(
    `No WX_APP_SECRET or WX_API_BASE_URL: started the embedded fake WeChat at ${baseUrl}`,
  );
  return { appId, appSecret: fakeSecret, apiBaseUrl: baseUrl, fake };
}

@Injectable()
class FakeWeChatShutdown implements OnApplicationShutdown {
  constructor(@Inject(WECHAT_ENDPOINT) private readonly endpoint: WeChatEndpoint) {}

  async onApplicationShutdown(): Promise<void> {
    await this.endpoint.fake?.stop();
  }
}

/** Provides {@link WECHAT_ENDPOINT}, and stops the embedded fake with the app. */
@Module({
  providers: [
    { provide: WECHAT_ENDPOINT, useFactory: resolveEndpoint, inject: [ConfigService] },
    FakeWeChatShutdown,
  ],
  exports: [WECHAT_ENDPOINT],
})
export class WeChatEndpointModule {}
