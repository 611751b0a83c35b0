import type { ExecutionContext } from '@nestjs/common';
import type { WxCallSite } from './call-site.js';
import { wsExceptionClass } from './context-peers.js';
import { isObject, readEnvelopeArgument, refusalPayload } from './context-values.js';
import type { WxAnswer } from './http-errors.js';

type Headers = WxCallSite['headers'];

const NO_HEADERS: Headers = Object.freeze({});
const PATTERN = /^[\w.:/-]{1,64}$/;

/** The upgrade request headers that `@nestjs/platform-ws` does not keep, by client. */
const handshakes = new WeakMap<object, Headers>();

/**
 * Keeps the headers of a `@nestjs/platform-ws` client's upgrade request, so `@WxVerified()`
 * message handlers find its `Authorization` header: call it from the gateway's
 * `handleConnection(client, request)`. socket.io clients need nothing (their handshake stays on
 * the socket).
 *
 * @param client - the gateway's client
 * @param request - the HTTP upgrade request Nest hands `handleConnection`
 * @public
 */
export function rememberWxHandshake(client: object, request: { readonly headers: Headers }): void {
  handshakes.set(client, request.headers);
}

/**
 * A gateway message as the guard reads it: the token from the handshake (socket.io's
 * `auth.token`, else the `Authorization` header of the upgrade request), the envelope from the
 * message body.
 *
 * @internal
 */
export function readWsCallSite(context: ExecutionContext): WxCallSite {
  const ws = context.switchToWs();
  const client: unknown = ws.getClient();
  const socket = isObject(client) ? client : {};
  const { headers, token } = readHandshake(socket);
  forwardOwnExceptions(socket);
  return {
    kind: 'ws',
    headers,
    handshakeToken: token,
    body: readEnvelopeArgument(ws.getData(), 'body', false),
    holder: wsHolder(context),
    where: wsWhere(ws.getPattern()),
  };
}

/**
 * The message body when it is an object (one per message), else the client: what the result of
 * one message is kept under.
 *
 * @internal
 */
export function wsHolder(context: ExecutionContext): object {
  const ws = context.switchToWs();
  const data: unknown = ws.getData();
  if (isObject(data)) return data;
  const client: unknown = ws.getClient();
  return isObject(client) ? client : context;
}

function readHandshake(socket: object): { headers: Headers; token: string | undefined } {
  const { handshake } = socket as { handshake?: { headers?: unknown; auth?: unknown } };
  if (!isObject(handshake)) return { headers: handshakes.get(socket) ?? NO_HEADERS, token: undefined };
  const { token } = (isObject(handshake.auth) ? handshake.auth : {}) as { token?: unknown };
  return {
    headers: isObject(handshake.headers) ? (handshake.headers as Headers) : NO_HEADERS,
    token: typeof token === 'string' ? token : undefined,
  };
}

/** `ws profile`: the message pattern, which matched one the gateway declared. */
function wsWhere(pattern: unknown): string {
  return typeof pattern === 'string' && PATTERN.test(pattern) ? `ws ${pattern}` : 'ws';
}

/** The exception payloads this library made: only they are forwarded (see below). */
const ownPayloads = new WeakSet<object>();
const forwarding = new WeakSet<object>();

interface NativeWebSocket {
  readyState?: unknown;
  send?: unknown;
  on?: unknown;
}

/**
 * Nest 11's gateway exception filter answers a native WebSocket (`@nestjs/platform-ws`) with
 * `client.emit('exception', body)`, which only raises a local event: the client would get no
 * reply. For such a client the library forwards its own refusals as the frame Nest 12 sends,
 * `{ "event": "exception", "data": body }`. On Nest 12 the filter sends the frame itself and
 * the local event never fires.
 */
function forwardOwnExceptions(socket: object): void {
  const native = socket as NativeWebSocket;
  if (typeof native.readyState !== 'number' || typeof native.send !== 'function') return;
  if (typeof native.on !== 'function' || forwarding.has(socket)) return;
  forwarding.add(socket);
  const send = native.send as (this: object, frame: string) => void;
  const on = native.on as (this: object, event: string, listener: (payload: unknown) => void) => void;
  on.call(socket, 'exception', (payload: unknown) => {
    if (isObject(payload) && ownPayloads.has(payload)) {
      send.call(socket, JSON.stringify({ event: 'exception', data: payload }));
    }
  });
}

/**
 * The gateway exception of a refusal: a `WsException` carrying the HTTP body (and
 * `retryAfterSeconds` when the client should wait), which Nest's gateway filter sends to the
 * client as its `exception` event.
 *
 * @internal
 */
export function toWsError(answer: WxAnswer): Error {
  const WsException = wsExceptionClass();
  const payload = refusalPayload(answer);
  ownPayloads.add(payload);
  return new WsException(payload);
}
