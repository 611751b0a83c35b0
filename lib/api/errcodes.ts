/**
 * What WeChat's error codes mean, in words of our own. WeChat's `errmsg` is not reused in
 * messages: it is upstream text we do not control, and a proxy in between could echo a request
 * parameter into it.
 */
const ERRCODE_DESCRIPTIONS: ReadonlyMap<number, string> = new Map([
  [-1, 'system busy'],
  [40001, 'access token invalid or not the latest'],
  [40002, 'invalid grant_type'],
  [40003, 'invalid openid'],
  [40013, 'invalid appid'],
  [40014, 'invalid access token'],
  [40029, 'invalid or expired code'],
  [40125, 'invalid app secret'],
  [40163, 'code already used'],
  [40164, 'caller IP not whitelisted'],
  [40226, 'high-risk user blocked'],
  [41001, 'access token missing'],
  [41008, 'code missing'],
  [42001, 'access token expired'],
  [43002, 'POST required'],
  [45009, 'daily quota reached'],
  [45011, 'rate limit reached'],
  [47001, 'request body is not the expected JSON'],
  [87008, 'invalid sig_method'],
  [87009, 'session key signature invalid'],
  // The less common APIs (issue 12).
  [1, "data not exist, older than 3 days or another app's"],
  [1000, 'plugin login: system error'],
  [1001, 'plugin login: invalid parameters'],
  [1003, 'plugin login: too frequent'],
  [1005, 'plugin appid does not match the data'],
  [1007, 'no openpid data: not a wx.pluginLogin code'],
  [1022, 'plugin login: JSON parse error'],
  [40097, 'invalid arguments'],
  [43104, 'openid does not belong to this appid'],
  [44002, 'empty POST body'],
  [61010, 'no recent visit of this user'],
  [87007, 'session key missing or expired'],
  [87016, 'a key-value pair is too long'],
  [87017, "the user's stored data is over the limit"],
  [87018, 'too many key-value pairs'],
  [87019, 'a key is too long'],
  [87081, 'invalid openid'],
  [87082, 'invalid key'],
  [89002, 'no Open Platform binding'],
  [89300, 'invalid trade'],
]);

/**
 * A short English description of a WeChat `errcode`, safe to log.
 *
 * @public
 */
export function describeWxErrcode(errcode: number): string {
  return ERRCODE_DESCRIPTIONS.get(errcode) ?? 'see the WeChat error code reference';
}

/** `errcode` meaning "the access token you sent is no good": refresh it and try again. */
const ACCESS_TOKEN_REJECTED = new Set([40001, 40014, 42001]);

/**
 * Whether `errcode` says the access token sent is invalid or expired (40001, 40014, 42001).
 *
 * @internal
 */
export function isAccessTokenRejection(errcode: number): boolean {
  return ACCESS_TOKEN_REJECTED.has(errcode);
}

/**
 * `errcode` -1: WeChat says to retry later.
 *
 * @internal
 */
export const WX_ERRCODE_SYSTEM_BUSY = -1;

/**
 * `errcode` 87009 from checksession: the key is not the user's current one.
 *
 * @internal
 */
export const WX_ERRCODE_INVALID_SIGNATURE = 87009;

/**
 * `errcode` 1 from checkencryptedmsg: WeChat did not produce this data for this app in 3 days.
 *
 * @internal
 */
export const WX_ERRCODE_DATA_NOT_EXIST = 1;
