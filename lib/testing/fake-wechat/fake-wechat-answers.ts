import { randomBytes } from 'node:crypto';

/**
 * What the fake answers to one request: an HTTP status, a content type and the body text.
 *
 * @internal
 */
export interface FakeAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Extra headers (the API security mode's `Wechatmp-*`). */
  readonly headers?: Readonly<Record<string, string>>;
}

const JSON_CONTENT_TYPE = 'application/json; encoding=utf-8';

/**
 * A WeChat JSON answer with HTTP 200, as WeChat sends even its errors.
 *
 * @internal
 */
export function jsonAnswer(body: object, status = 200): FakeAnswer {
  return { status, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(body) };
}

/**
 * A WeChat error answer. Like WeChat, `errmsg` ends with a request id (`rid: ...`).
 *
 * @internal
 */
export function errorAnswer(errcode: number, errmsg: string): FakeAnswer {
  return jsonAnswer({ errcode, errmsg: `${errmsg} rid: ${requestId()}` });
}

/**
 * What a gateway in front of WeChat sends when WeChat is down: an HTML error page.
 *
 * @internal
 */
export function htmlBadGatewayAnswer(): FakeAnswer {
  return {
    status: 502,
    contentType: 'text/html',
    body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n',
  };
}

/**
 * A 200 answer declared as JSON that is not JSON: a truncated object.
 *
 * @internal
 */
export function garbageAnswer(): FakeAnswer {
  return { status: 200, contentType: JSON_CONTENT_TYPE, body: '{"errcode":0,"errmsg":"ok","access_tok' };
}

/** WeChat's error codes the fake uses, with WeChat's own wording. */
export const FAKE_ERRORS = {
  busy: [-1, 'system error'],
  invalidCredential: [40001, 'invalid credential, access_token is invalid or not latest'],
  invalidGrantType: [40002, 'invalid grant_type'],
  invalidOpenid: [40003, 'invalid openid'],
  invalidAppid: [40013, 'invalid appid'],
  invalidCode: [40029, 'invalid code'],
  invalidAppSecret: [40125, 'invalid appsecret'],
  codeUsed: [40163, 'code been used'],
  missingAccessToken: [41001, 'access_token missing'],
  missingCode: [41008, 'missing code'],
  accessTokenExpired: [42001, 'access_token expired'],
  requirePost: [43002, 'require POST method'],
  rateLimited: [45011, 'api minute-quota reach limit  mustslower  retry next minute'],
  invalidUrl: [40066, 'invalid url'],
  dataFormat: [47001, 'data format error'],
  invalidSigMethod: [87008, 'invalid sig_method'],
  invalidSignature: [87009, 'invalid signature'],
  dataNotExist: [1, 'data not exit'],
  noOpenpid: [1007, 'no openpid data'],
  invalidArgs: [40097, 'invalid args'],
  emptyBody: [44002, 'empty post data'],
  noRecentVisit: [61010, 'user has no recent visit record'],
  sessionKeyExpired: [87007, 'session_key is not existed or expired'],
  pairTooLong: [87016, 'some key-value in list meet length exceed'],
  storageFull: [87017, 'user data length exceeds limit'],
  tooManyPairs: [87018, 'user kv list size exceed limit'],
  keyTooLong: [87019, 'some key in list meet length exceed'],
  invalidInteractiveKey: [87082, 'invalid key'],
  noOpenPlatform: [89002, 'open not exists'],
  invalidTrade: [89300, 'invalid trade'],
} as const satisfies Record<string, readonly [number, string]>;

/**
 * The answer for one of {@link FAKE_ERRORS}.
 *
 * @internal
 */
export function fakeError(kind: keyof typeof FAKE_ERRORS): FakeAnswer {
  const [errcode, errmsg] = FAKE_ERRORS[kind];
  return errorAnswer(errcode, errmsg);
}

function requestId(): string {
  return `${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;
}
