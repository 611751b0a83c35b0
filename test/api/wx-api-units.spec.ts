import { createHmac } from 'node:crypto';
import {
  accessTokenRefreshAt,
  AccessTokenCache,
  type WxFetchedAccessToken,
} from '../../lib/api/access-token-cache.js';
import { backoffDelayMs } from '../../lib/api/backoff.js';
import {
  describeWxErrcode,
  sessionKeySignature,
  WX_API_BASE_URL,
  WxApiClient,
  WxApiError,
  WxApiTimeoutError,
  WxApiUnavailableError,
} from '../../lib/api/index.js';
import { WxOpenDataError } from '../../lib/core/index.js';

describe('sessionKeySignature', () => {
  // WeChat's worked example: the key is the base64 text itself, not the 16 bytes it decodes to.
  const KEY = 'o0q0otL8aEzpcZL/FT9WsQ==';

  it('matches the spec vector over {"foo":"bar"}', () => {
    expect(sessionKeySignature(KEY, '{"foo":"bar"}')).toBe(
      '654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b',
    );
  });

  it('matches the spec vector over the empty message, the default', () => {
    const expected = '46e043c5525c2d817c44be603d30837a808a1d930d038f6fdc3e62a201fed128';
    expect(sessionKeySignature(KEY, '')).toBe(expected);
    expect(sessionKeySignature(KEY)).toBe(expected);
  });

  it('is not keyed with the decoded bytes', () => {
    const withBytes = createHmac('sha256', Buffer.from(KEY, 'base64')).update('').digest('hex');
    expect(sessionKeySignature(KEY)).not.toBe(withBytes);
  });
});

describe('accessTokenRefreshAt', () => {
  it('refreshes 5 minutes early for the usual 7200 s token', () => {
    expect(accessTokenRefreshAt(1_000, 7200)).toBe(1_000 + 6900_000);
  });

  it('refreshes 10% early for a short-lived token', () => {
    expect(accessTokenRefreshAt(0, 600)).toBe(540_000);
    expect(accessTokenRefreshAt(0, 10)).toBe(9_000);
  });
});

describe('backoffDelayMs', () => {
  it('doubles per failed attempt, between half and all of the step', () => {
    expect(backoffDelayMs(1, 100, () => 0)).toBe(50);
    expect(backoffDelayMs(1, 100, () => 0.999999)).toBe(100);
    expect(backoffDelayMs(2, 100, () => 0)).toBe(100);
    expect(backoffDelayMs(3, 100, () => 0.5)).toBe(300);
  });

  it('stops doubling at 8× the base', () => {
    expect(backoffDelayMs(4, 100, () => 0.999999)).toBe(800);
    expect(backoffDelayMs(10, 100, () => 0.999999)).toBe(800);
  });

  it('stays within its bounds on random draws', () => {
    for (let attempt = 1; attempt <= 6; attempt += 1) {
      const step = 100 * 2 ** Math.min(attempt - 1, 3);
      const delay = backoffDelayMs(attempt, 100);
      expect(delay).toBeGreaterThanOrEqual(step / 2);
      expect(delay).toBeLessThanOrEqual(step);
    }
  });
});

describe('AccessTokenCache', () => {
  /** A token source whose answers the test releases one by one. */
  function controllableSource(): {
    fetchToken: (force: boolean) => Promise<WxFetchedAccessToken>;
    calls: boolean[];
    resolveNext: (accessToken: string, expiresInSeconds?: number) => void;
    rejectNext: (error: Error) => void;
  } {
    const pending: { resolve: (t: WxFetchedAccessToken) => void; reject: (e: Error) => void }[] = [];
    const calls: boolean[] = [];
    return {
      calls,
      fetchToken: (force) => {
        calls.push(force);
        return new Promise((resolve, reject) => pending.push({ resolve, reject }));
      },
      resolveNext: (accessToken, expiresInSeconds = 7200) =>
        pending.shift()?.resolve({ accessToken, expiresInSeconds }),
      rejectNext: (error) => pending.shift()?.reject(error),
    };
  }

  it('single flight for get(), then served from the cache', async () => {
    const source = controllableSource();
    const cache = new AccessTokenCache(source.fetchToken, () => 0);
    const waiting = Promise.all([cache.get(), cache.get(), cache.get()]);
    source.resolveNext('T1');
    await expect(waiting).resolves.toEqual(['T1', 'T1', 'T1']);
    await expect(cache.get()).resolves.toBe('T1');
    expect(source.calls).toEqual([false]);
  });

  it('a failed fetch reaches every waiting caller and is not cached', async () => {
    const source = controllableSource();
    const cache = new AccessTokenCache(source.fetchToken, () => 0);
    const waiting = Promise.allSettled([cache.get(), cache.get()]);
    source.rejectNext(new Error('boom'));
    expect((await waiting).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const again = cache.get();
    source.resolveNext('T2');
    await expect(again).resolves.toBe('T2');
    expect(source.calls).toHaveLength(2);
  });

  it('replace(): one forced fetch for many holders of the rejected token', async () => {
    const source = controllableSource();
    const cache = new AccessTokenCache(source.fetchToken, () => 0);
    const first = cache.get();
    source.resolveNext('T1');
    await first;
    const replacements = Promise.all([cache.replace('T1'), cache.replace('T1'), cache.replace('T1')]);
    await Promise.resolve();
    source.resolveNext('T2');
    await expect(replacements).resolves.toEqual(['T2', 'T2', 'T2']);
    expect(source.calls).toEqual([false, true]);
    // A caller that comes late with the old token gets the replacement without a request.
    await expect(cache.replace('T1')).resolves.toBe('T2');
    expect(source.calls).toHaveLength(2);
  });

  it('replace() within 30 s of a forced refresh fetches unforced', async () => {
    let now = 0;
    const source = controllableSource();
    const cache = new AccessTokenCache(source.fetchToken, () => now);
    const first = cache.replace('T0');
    source.resolveNext('T1');
    await first;
    const second = cache.replace('T1');
    source.resolveNext('T2');
    await second;
    now = 30_000;
    const third = cache.replace('T2');
    source.resolveNext('T3');
    await third;
    expect(source.calls).toEqual([true, false, true]);
  });

  it('invalidate() drops the cache, and a fetch begun before does not refill it', async () => {
    const source = controllableSource();
    const cache = new AccessTokenCache(source.fetchToken, () => 0);
    const early = cache.get();
    cache.invalidate();
    source.resolveNext('T-early');
    await expect(early).resolves.toBe('T-early');
    const later = cache.get();
    source.resolveNext('T-later');
    await expect(later).resolves.toBe('T-later');
    expect(source.calls).toHaveLength(2);
  });
});

describe('errors', () => {
  it('form one hierarchy under WxOpenDataError, none key-dependent', () => {
    const errors = [
      new WxApiError('code2Session', 40029),
      new WxApiUnavailableError('getAccessToken', 'network', 'ECONNREFUSED'),
      new WxApiTimeoutError('getPhoneNumber', 5000),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(WxOpenDataError);
      expect(error.keyDependent).toBe(false);
      expect(error.name).toBe(error.constructor.name);
    }
    expect(errors.map((e) => e.code)).toEqual(['WX_API_ERROR', 'WX_API_UNAVAILABLE', 'WX_API_TIMEOUT']);
    expect(errors.map((e) => e.message)).toEqual([
      'WeChat code2Session failed with errcode 40029 (invalid or expired code)',
      'WeChat getAccessToken unavailable: network (ECONNREFUSED)',
      'WeChat getPhoneNumber did not answer within 5000 ms',
    ]);
  });

  it('describes known errcodes and falls back for unknown ones', () => {
    expect(describeWxErrcode(-1)).toBe('system busy');
    expect(describeWxErrcode(87009)).toBe('session key signature invalid');
    expect(describeWxErrcode(99999)).toBe('see the WeChat error code reference');
  });
});

describe('WxApiClient options', () => {
  const base = { appId: 'wx0a1b2c3d4e5f6a7b', appSecret: 'a-secret-never-shown-123' };

  it('defaults to the WeChat origin', () => {
    expect(WX_API_BASE_URL).toBe('https://api.weixin.qq.com');
    expect(new WxApiClient(base).appId).toBe(base.appId);
  });

  it.each([
    [{ appId: '' }, 'appId'],
    [{ appSecret: '' }, 'appSecret'],
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ timeoutMs: 1.5 }, 'timeoutMs'],
    [{ maxAttempts: 0 }, 'maxAttempts'],
    [{ maxAttempts: 11 }, 'maxAttempts'],
    [{ retryDelayMs: -1 }, 'retryDelayMs'],
    [{ apiBaseUrl: 'ftp://example.test' }, 'apiBaseUrl'],
    [{ apiBaseUrl: 'not a url' }, 'apiBaseUrl'],
    [{ apiBaseUrl: 'http://127.0.0.1:1/?secret=x' }, 'apiBaseUrl'],
  ])('refuses %j, naming %s but not the secret', (override, name) => {
    expect(() => new WxApiClient({ ...base, ...override })).toThrow(name);
    try {
      new WxApiClient({ ...base, ...override });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(base.appSecret);
    }
  });

  it('keeps a path prefix of apiBaseUrl and drops its trailing slash', async () => {
    const seen: string[] = [];
    const client = new WxApiClient({
      ...base,
      apiBaseUrl: 'http://127.0.0.1:1/wechat-proxy/',
      fetch: async (input) => {
        seen.push(new URL(input).pathname);
        return new Response('{"access_token":"tok-abcdefghij","expires_in":7200}');
      },
    });
    await client.getAccessToken();
    expect(seen).toEqual(['/wechat-proxy/cgi-bin/stable_token']);
  });

  it('sends stable_token as JSON with force_refresh false', async () => {
    const bodies: unknown[] = [];
    const client = new WxApiClient({
      ...base,
      fetch: async (_input, init) => {
        expect(init.method).toBe('POST');
        expect(init.signal).toBeInstanceOf(AbortSignal);
        bodies.push(JSON.parse(String(init.body)));
        return new Response('{"access_token":"tok-abcdefghij","expires_in":7200}');
      },
    });
    await client.getAccessToken();
    expect(bodies).toEqual([
      { grant_type: 'client_credential', appid: base.appId, secret: base.appSecret, force_refresh: false },
    ]);
  });
});
