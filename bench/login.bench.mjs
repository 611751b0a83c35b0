// Issue #3's figures: the login path (code2Session against the fake WeChat on loopback, session
// stored) in logins per second, and how many upstream token requests 100 concurrent
// getAccessToken() callers cause (must be 1).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { WxApiClient, WxOpenDataModule, WxSessionService } from 'nestjs-wx-open-data';
import { FakeWeChatServer } from 'nestjs-wx-open-data/testing';
import { BENCH_APP_ID } from './fixtures.mjs';

const APP_ID = BENCH_APP_ID;
const APP_SECRET = 'bench-secret';

export async function runLoginBench({ durationMs = 3000, concurrency = 8 } = {}) {
  // A login budget per user of the fake is 100 a minute, as WeChat's: use many users.
  const wechat = new FakeWeChatServer({
    apps: [{ appId: APP_ID, appSecret: APP_SECRET }],
    loginsPerMinute: 1e9,
  });
  const apiBaseUrl = await wechat.start();
  const app = await NestFactory.createApplicationContext(
    WxOpenDataModule.forRoot({ appId: APP_ID, appSecret: APP_SECRET, apiBaseUrl }),
    { logger: false },
  );
  try {
    const sessions = app.get(WxSessionService);
    let logins = 0;
    const deadline = Date.now() + durationMs;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, worker) => {
        for (let i = 0; Date.now() < deadline; i++) {
          await sessions.login(wechat.issueCode({ openid: `o-bench-${worker}-${i % 500}` }));
          logins++;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;

    const client = new WxApiClient({ appId: APP_ID, appSecret: APP_SECRET, apiBaseUrl });
    wechat.resetRequestCounts();
    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getAccessToken()));
    return {
      login_ops_per_sec: logins / seconds,
      login_concurrency: concurrency,
      token_requests_for_100_concurrent_callers: wechat.requestCount('/cgi-bin/stable_token'),
      distinct_tokens: new Set(tokens).size,
    };
  } finally {
    await app.close();
    await wechat.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runLoginBench());
}
