import { createHmac, randomUUID } from 'node:crypto';

/** A client's request id is logged only when it is this plain: no spaces, quotes or newlines. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The id given to each request, so every line of one request names the same one. */
const requestIds = new WeakMap<object, string>();

/**
 * The id a log line names its request by: the client's `x-request-id` when it is a plain token
 * (the app's own proxy or tracing usually sets one), else a new UUID. Never other client text.
 * With `request` (the HTTP request, or the holder of a GraphQL or WebSocket call), the id is
 * chosen once per request: every line of it (the guard's, the filter's, the session service's)
 * names the same one, generated or not.
 *
 * @internal
 */
export function requestIdOf(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  request?: object,
): string {
  const known = request === undefined ? undefined : requestIds.get(request);
  if (known !== undefined) return known;
  const given = headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  if (request !== undefined) requestIds.set(request, id);
  return id;
}

/**
 * A short reference to a user that ties log lines together without naming them: the first 8 hex
 * characters of an HMAC-SHA256 of the openid keyed with the mini program's AppSecret. The same on
 * every instance of the app; not reversible to the openid without the secret.
 *
 * @internal
 */
export function userRefOf(appSecret: string, openid: string): string {
  return createHmac('sha256', appSecret).update(openid, 'utf8').digest('hex').slice(0, 8);
}

/** `where`, with the request id and, when known, the user reference: what a log line names. */
export function logContext(where: string, requestId: string, userRef?: string): string {
  return userRef === undefined
    ? `${where} [request ${requestId}]`
    : `${where} [request ${requestId}, user ${userRef}]`;
}
