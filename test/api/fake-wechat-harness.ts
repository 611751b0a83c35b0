import { WxApiClient, type WxApiClientOptions, type WxFetch } from '../../lib/api/index.js';
import { FakeWeChatServer, type FakeWeChatServerOptions } from '../../lib/testing/index.js';

export const APP = { appId: 'wx0a1b2c3d4e5f6a7b', appSecret: 'app-secret-0123456789abcdef0123456' };
export const OTHER_APP = { appId: 'wx7b6a5f4e3d2c1b0a', appSecret: 'other-secret-fedcba9876543210fedc' };

/** Parameters whose values must never leave the client in an error. */
const SECRET_PARAMS = ['secret', 'js_code', 'code', 'access_token', 'signature', 'session_key'];

/** A mutable wall clock shared by the fake and the client. */
export interface TestClock {
  now: number;
}

/** A fake WeChat on loopback, a clock, and a record of every secret that crossed the wire. */
export class FakeWeChatHarness {
  readonly clock: TestClock = { now: Date.UTC(2024, 0, 1) };
  readonly fake: FakeWeChatServer;
  /** Every secret value sent to or received from the fake by clients of this harness. */
  readonly secrets = new Set<string>([APP.appSecret, OTHER_APP.appSecret]);
  private readonly errors: unknown[] = [];
  baseUrl = '';

  constructor(options: Partial<FakeWeChatServerOptions> = {}) {
    this.fake = new FakeWeChatServer({ apps: [APP, OTHER_APP], now: () => this.clock.now, ...options });
  }

  async start(): Promise<void> {
    this.baseUrl = await this.fake.start();
  }

  async stop(): Promise<void> {
    await this.fake.stop();
  }

  /**
   * A client of APP against the fake, short pauses, its traffic recorded for secrets. The time
   * budget is generous: the tests that are about timeouts set their own, and the others (100
   * concurrent calls, each queued behind a token refresh) must not fail because CI is busy.
   */
  client(overrides: Partial<WxApiClientOptions> = {}): WxApiClient {
    return new WxApiClient({
      ...APP,
      apiBaseUrl: this.baseUrl,
      timeoutMs: 10_000,
      retryDelayMs: 2,
      now: () => this.clock.now,
      fetch: this.recordingFetch(overrides.fetch ?? ((input, init) => fetch(input, init))),
      ...withoutFetch(overrides),
    });
  }

  /** A login code, remembered as a secret. */
  issueCode(...args: Parameters<FakeWeChatServer['issueCode']>): string {
    return this.remember(this.fake.issueCode(...args));
  }

  /** A phone code, remembered as a secret. */
  issuePhoneCode(...args: Parameters<FakeWeChatServer['issuePhoneCode']>): string {
    return this.remember(this.fake.issuePhoneCode(...args));
  }

  remember(secret: string): string {
    this.secrets.add(secret);
    return secret;
  }

  /** The rejection of `promise`, kept for the final secrets check; fails if it resolves. */
  async errorOf(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (error) {
      this.errors.push(error);
      return error;
    }
    throw new Error('expected a rejection');
  }

  /** Every captured error with every secret that one of them contains. */
  leakedSecrets(): { error: string; secret: string }[] {
    return this.errors.flatMap((error) => {
      const text = everythingVisibleIn(error);
      return [...this.secrets]
        .filter((secret) => secret.length >= 6 && text.includes(secret))
        .map((secret) => ({ error: String(error), secret }));
    });
  }

  capturedErrorCount(): number {
    return this.errors.length;
  }

  private recordingFetch(inner: WxFetch): WxFetch {
    return async (input, init) => {
      this.recordRequest(input, init);
      const response = await inner(input, init);
      response
        .clone()
        .text()
        .then((text) => this.recordJson(text))
        .catch(() => undefined);
      return response;
    };
  }

  private recordRequest(input: string, init: RequestInit): void {
    const url = new URL(input);
    for (const name of SECRET_PARAMS) {
      const value = url.searchParams.get(name);
      if (value) this.secrets.add(value);
    }
    if (typeof init.body === 'string') this.recordJson(init.body);
  }

  private recordJson(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const [name, field] of Object.entries(value)) {
      if (SECRET_PARAMS.includes(name) && typeof field === 'string' && field !== '') this.secrets.add(field);
    }
  }
}

function withoutFetch(options: Partial<WxApiClientOptions>): Partial<WxApiClientOptions> {
  const { fetch: _fetch, ...rest } = options;
  return rest;
}

/** Message, stack, JSON form, own properties and cause chain of an error. */
export function everythingVisibleIn(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const ownValues = Object.getOwnPropertyNames(error).map((name) =>
    String((error as unknown as Record<string, unknown>)[name]),
  );
  return (
    [error.message, error.stack ?? '', JSON.stringify(error), String(error), ...ownValues].join('\n') +
    (error.cause === undefined ? '' : `\n${everythingVisibleIn(error.cause)}`)
  );
}

/** Milliseconds `promise` takes to settle, and how. */
export async function timed<T>(
  promise: Promise<T>,
): Promise<{ elapsedMs: number; outcome: PromiseSettledResult<T> }> {
  const started = performance.now();
  const [outcome] = await Promise.allSettled([promise]);
  return { elapsedMs: performance.now() - started, outcome: outcome as PromiseSettledResult<T> };
}
