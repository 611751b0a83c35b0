import { createHmac, randomUUID } from 'node:crypto';

/** A client's request id is logged only when it is this plain: no spaces, quotes or newlines. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The id a log line names its request by: the client's `x-request-id` when it is a plain token
 * (the app's own proxy or tracing usually sets one), else a new UUID. Never other client text.
 *
 * @internal
 */
export function requestIdOf(headers: Readonly<Record<string, string | string[] | undefined>>): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
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
