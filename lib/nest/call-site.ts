import { HttpException, type ExecutionContext } from '@nestjs/common';
import { WxUnsupportedContextError } from '../core/index.js';
import { graphQLHolder, readGraphQLCallSite, WxGraphQLError } from './graphql-call-site.js';
import type { WxAnswer } from './http-errors.js';
import type { WxRouteOptions } from './route.js';
import { readWsCallSite, toWsError, wsHolder } from './ws-call-site.js';

/**
 * One call, whatever carried it, as the library reads it: read once per call by
 * {@link readCallSite}.
 *
 * @public
 */
export interface WxCallSite {
  readonly kind: 'http' | 'graphql' | 'ws';
  /** Headers that carry the session token (HTTP request, GraphQL's HTTP request, WS handshake). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** socket.io `auth.token` and the like: a token that did not come in a header. */
  readonly handshakeToken?: string | undefined;
  /**
   * Where the envelope (`rawData`, `signature`, `encryptedData`, `iv`) is read from. A GraphQL
   * argument or WebSocket message that is not a plain object of those fields gives a body whose
   * fields throw a `WxMalformedPayloadError` naming it when read, so it is refused like a bad
   * HTTP body, in the guard's order.
   */
  readonly body: unknown;
  /**
   * An object unique to this call (the HTTP request; for GraphQL the resolver's `info`, one per
   * field; for WebSocket the message body, or the client when the body is not an object)
   * under which the guard keeps the verified result for `@WxOpenData()` and friends.
   */
  readonly holder: object;
  /** The platform response, to set `Retry-After` on (HTTP only). */
  readonly response?: unknown;
  /**
   * Where the call went, for log lines: `POST /me/profile`. Built from the route's own pattern
   * where the platform gives it, never from raw client text.
   */
  readonly where: string;
}

/** The HTTP request as both platforms give it, with what the call site reads. */
interface HttpRequestLike {
  headers?: Record<string, string | string[] | undefined>;
  body?: unknown;
  method?: string;
  url?: string;
  /** Express: the matched route. */
  route?: { path?: unknown };
  /** Fastify: the matched route. */
  routeOptions?: { url?: unknown };
}

const NO_HEADERS: Readonly<Record<string, string | undefined>> = Object.freeze({});

/**
 * Reads the call behind `context` once: headers, body, the holder of the verified result.
 *
 * @throws {@link WxUnsupportedContextError} for a context other than HTTP, GraphQL and WebSocket
 * @public
 */
export function readCallSite(context: ExecutionContext, route: WxRouteOptions): WxCallSite {
  const type = context.getType<string>();
  if (type === 'http') return readHttpCallSite(context);
  if (type === 'graphql') return readGraphQLCallSite(context, route);
  if (type === 'ws') return readWsCallSite(context);
  throw new WxUnsupportedContextError(type);
}

/**
 * The object the verified result of `context`'s call is kept under: the same one
 * {@link readCallSite} names as `holder`, read without the rest.
 *
 * @public
 */
export function callSiteHolder(context: ExecutionContext): object {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest<object>();
  if (type === 'graphql') return graphQLHolder(context);
  if (type === 'ws') return wsHolder(context);
  throw new WxUnsupportedContextError(type);
}

/**
 * What a refusal becomes in the call's context: an `HttpException` over HTTP, with `Retry-After`
 * set on the response when the answer has one.
 *
 * @public
 */
export function toContextError(site: WxCallSite, answer: WxAnswer): Error {
  if (site.kind === 'http') {
    if (answer.retryAfterSeconds !== undefined) {
      setHeader(site.response, 'Retry-After', String(answer.retryAfterSeconds));
    }
    return new HttpException({ ...answer.body }, answer.status);
  }
  // GraphQL: lib/nest/graphql-call-site.ts; WebSocket: lib/nest/ws-call-site.ts.
  return site.kind === 'graphql' ? new WxGraphQLError(answer) : toWsError(answer);
}

// ---- HTTP (Express and Fastify) ----

function readHttpCallSite(context: ExecutionContext): WxCallSite {
  const http = context.switchToHttp();
  const request = http.getRequest<HttpRequestLike>();
  return {
    kind: 'http',
    headers: request.headers ?? NO_HEADERS,
    body: request.body,
    holder: request,
    response: http.getResponse<unknown>(),
    where: httpWhere(request),
  };
}

/** Only what the route declared (its pattern) and an HTTP method name: no client text. */
/** @internal */
export function httpWhere(request: HttpRequestLike): string {
  const pattern = request.routeOptions?.url ?? request.route?.path;
  const method =
    typeof request.method === 'string' && /^[A-Z]{1,10}$/.test(request.method) ? request.method : 'HTTP';
  return typeof pattern === 'string' ? `${method} ${pattern}` : method;
}

/** Sets a header on an Express response or a Fastify reply (both have `header`), or a Node one. */
function setHeader(response: unknown, name: string, value: string): void {
  if (typeof response !== 'object' || response === null) return;
  const target = response as {
    header?: (name: string, value: string) => unknown;
    setHeader?: (name: string, value: string) => unknown;
  };
  if (typeof target.header === 'function') target.header(name, value);
  else if (typeof target.setHeader === 'function') target.setHeader(name, value);
}
