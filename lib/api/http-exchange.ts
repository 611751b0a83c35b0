import { WX_ERRCODE_SYSTEM_BUSY } from './errcodes.js';
import { WxApiError, WxApiUnavailableError, type WxApiOperation } from './errors.js';
import { settleWithin, type Deadline } from './deadline.js';
import { apiSecurityRefusal } from './security/api-security.js';

/**
 * A fetch implementation: Node's global `fetch` or a stand-in with the same contract.
 *
 * @public
 */
export type WxFetch = (input: string, init: RequestInit) => Promise<Response>;

/**
 * A JSON object as WeChat answers, errcode 0 or absent.
 *
 * @internal
 */
export type WxJsonObject = Readonly<Record<string, unknown>>;

/**
 * One WeChat server request, described without the URL text so that nothing holding the
 * secret-bearing query string ever lives long enough to reach an error or a log.
 *
 * @internal
 */
export interface WxApiRequest {
  readonly operation: WxApiOperation;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** A JSON body: an object is serialized; a string is sent as these exact bytes (signed bodies). */
  readonly body?: object | string;
}

/**
 * A request as a {@link WxExchangeLayer} sends it instead of the plain one: its body text
 * (serialised once; these are the bytes sent), extra headers and query, and how to read the answer.
 *
 * @internal
 */
export interface WxSealedRequest {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** WeChat's JSON answer once the layer accepts it. @throws a `WxApiCallError` when it does not */
  open(headers: Headers, body: string): WxJsonObject;
}

/**
 * What stands between the client and the wire for some requests: the API security mode.
 *
 * @internal
 */
export interface WxExchangeLayer {
  /** The sealed request, or `undefined` to send `request` as it is. */
  seal(request: WxApiRequest, urlPath: string): WxSealedRequest | undefined;
}

/** WeChat's answers are a few hundred bytes; anything this big is not WeChat speaking. */
const MAX_RESPONSE_BYTES = 64 * 1024;

const SYSTEM_ERROR_CODE = /^[A-Z][A-Z0-9_]{1,40}$/;
const REQUEST_ID = /\brid:\s*([0-9A-Za-z-]{1,64})/;

/**
 * Sends `request` once within `deadline` and returns WeChat's JSON answer when its errcode is 0.
 *
 * @throws {@link WxApiError} for a non-zero errcode, {@link WxApiUnavailableError} when WeChat
 * cannot be reached or does not answer in its format, `WxApiTimeoutError` when the deadline passes
 * @internal
 */
export function exchangeOnce(
  fetchImpl: WxFetch,
  apiBaseUrl: string,
  request: WxApiRequest,
  deadline: Deadline,
  layer?: WxExchangeLayer,
): Promise<WxJsonObject> {
  return settleWithin(deadline, request.operation, async (signal) => {
    const sealed = layer?.seal(request, `${apiBaseUrl}${request.path}`);
    const response = await fetchOrUnavailable(fetchImpl, apiBaseUrl, request, signal, sealed);
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new WxApiUnavailableError(request.operation, 'http-status', `HTTP ${response.status}`);
    }
    const text = await readCappedText(response, request.operation);
    if (sealed === undefined) return parseWxAnswer(text, request.operation);
    return readWxAnswer(sealed.open(response.headers, text), request.operation);
  });
}

/**
 * Whether another attempt may help: WeChat said "system busy", or no answer arrived at all
 * (connection refused, reset, unreachable).
 *
 * @internal
 */
export function isRetryableFailure(error: unknown): boolean {
  if (error instanceof WxApiError) return error.errcode === WX_ERRCODE_SYSTEM_BUSY;
  return error instanceof WxApiUnavailableError && error.reason === 'network';
}

async function fetchOrUnavailable(
  fetchImpl: WxFetch,
  apiBaseUrl: string,
  request: WxApiRequest,
  signal: AbortSignal,
  sealed: WxSealedRequest | undefined,
): Promise<Response> {
  const query = sealed?.query ?? request.query;
  const url = `${apiBaseUrl}${request.path}?${new URLSearchParams(query).toString()}`;
  const init: RequestInit = {
    method: request.method,
    headers:
      sealed !== undefined
        ? { accept: 'application/json', 'content-type': 'application/json', ...sealed.headers }
        : request.body === undefined
          ? { accept: 'application/json' }
          : { accept: 'application/json', 'content-type': 'application/json' },
    // WeChat never redirects; following one would carry the secret to wherever it points.
    redirect: 'manual',
    signal,
  };
  if (sealed !== undefined) init.body = sealed.body;
  else if (request.body !== undefined) {
    init.body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  }
  try {
    return await fetchImpl(url, init);
  } catch (error) {
    // The original error is dropped on purpose: undici's errors and causes can quote the URL.
    throw new WxApiUnavailableError(request.operation, 'network', systemErrorCode(error));
  }
}

/**
 * `ECONNREFUSED` and the like from a fetch failure's cause; nothing else, as it may quote the
 * URL. Read by shape rather than `instanceof Error`: the error may come from another realm (a VM
 * context, a test runner), where `instanceof` fails.
 */
function systemErrorCode(error: unknown): string | undefined {
  const cause = propertyOf(error, 'cause');
  const code = propertyOf(cause, 'code') ?? propertyOf(error, 'code');
  return typeof code === 'string' && SYSTEM_ERROR_CODE.test(code) ? code : undefined;
}

function propertyOf(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

async function readCappedText(response: Response, operation: WxApiOperation): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    // Bounded: each read either ends the stream, adds bytes towards the cap, or is cut by the deadline.
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > MAX_RESPONSE_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw new WxApiUnavailableError(operation, 'response-too-large');
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof WxApiUnavailableError) throw error;
    throw new WxApiUnavailableError(operation, 'network', systemErrorCode(error));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * WeChat's answer as a JSON object, or the typed error it stands for.
 *
 * @internal
 */
export function parseWxAnswer(text: string, operation: WxApiOperation): WxJsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new WxApiUnavailableError(operation, 'not-json');
  }
  if (!isJsonObject(value)) throw new WxApiUnavailableError(operation, 'not-json');
  return readWxAnswer(value, operation);
}

/** The answer when its errcode is 0 or absent, else the typed error it stands for. */
function readWxAnswer(value: WxJsonObject, operation: WxApiOperation): WxJsonObject {
  const errcode = value['errcode'];
  if (errcode === undefined || errcode === 0) return value;
  if (typeof errcode !== 'number' || !Number.isInteger(errcode)) {
    throw new WxApiUnavailableError(operation, 'invalid-response', 'errcode is not an integer');
  }
  const rid = requestIdOf(value['errmsg']);
  throw apiSecurityRefusal(operation, errcode, rid) ?? new WxApiError(operation, errcode, rid);
}

function isJsonObject(value: unknown): value is WxJsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** WeChat's request id (`rid: ...`) inside `errmsg`; the rest of `errmsg` is not kept. */
function requestIdOf(errmsg: unknown): string | undefined {
  return typeof errmsg === 'string' ? REQUEST_ID.exec(errmsg)?.[1] : undefined;
}
