import type { ExecutionContext } from '@nestjs/common';
import type { WxCallSite } from './call-site.js';
import { isObject, readEnvelopeArgument, refusalPayload } from './context-values.js';
import type { WxAnswer } from './http-errors.js';
import type { WxRouteOptions } from './route.js';

/** The argument that holds the envelope when the route names none. */
const DEFAULT_ENVELOPE_ARG = 'input';
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const NO_HEADERS: WxCallSite['headers'] = Object.freeze({});

/**
 * A resolver call as the guard reads it. A resolver's arguments are `[root, args, context, info]`:
 * the token comes from the HTTP request behind the GraphQL context (`req`, which the Apollo and
 * the Mercurius driver of `@nestjs/graphql` both put there), the envelope from the argument
 * `envelopeArg` (default `input`). The result is kept under `info`, which graphql-js makes anew
 * for every field it resolves, so two verified fields of one query never see each other's payload.
 *
 * @internal
 */
export function readGraphQLCallSite(context: ExecutionContext, route: WxRouteOptions): WxCallSite {
  const args: unknown = context.getArgByIndex(1);
  const name = route.envelopeArg ?? DEFAULT_ENVELOPE_ARG;
  const raw =
    isObject(args) && Object.hasOwn(args, name) ? (args as Record<string, unknown>)[name] : undefined;
  return {
    kind: 'graphql',
    headers: requestHeaders(context.getArgByIndex(2)),
    body: readEnvelopeArgument(raw, name, true),
    holder: graphQLHolder(context),
    where: graphQLWhere(context.getArgByIndex(3)),
  };
}

/** @internal */
export function graphQLHolder(context: ExecutionContext): object {
  const info: unknown = context.getArgByIndex(3);
  if (isObject(info)) return info;
  const args: unknown = context.getArgByIndex(1);
  return isObject(args) ? args : context;
}

function requestHeaders(gqlContext: unknown): WxCallSite['headers'] {
  if (!isObject(gqlContext)) return NO_HEADERS;
  const { req } = gqlContext as { req?: unknown };
  if (!isObject(req)) return NO_HEADERS;
  const { headers } = req as { headers?: unknown };
  return isObject(headers) ? (headers as WxCallSite['headers']) : NO_HEADERS;
}

/** `graphql Mutation.profile`: names from the schema, never the client's aliases. */
function graphQLWhere(info: unknown): string {
  if (!isObject(info)) return 'graphql';
  const { parentType, fieldName } = info as { parentType?: { name?: unknown }; fieldName?: unknown };
  const parent = parentType?.name;
  if (typeof parent !== 'string' || typeof fieldName !== 'string') return 'graphql';
  if (!GRAPHQL_NAME.test(parent) || !GRAPHQL_NAME.test(fieldName)) return 'graphql';
  return `graphql ${parent}.${fieldName}`;
}

/**
 * A refused resolver call: the HTTP body's `message`, and every field of the body in `extensions`
 * (`code`, `statusCode`, `error`, `message`, `field` when the envelope was malformed,
 * `retryAfterSeconds` when the client should wait), so a client branches on `extensions.code`
 * exactly as an HTTP client branches on `body.code`. graphql-js turns it into the `GraphQLError`
 * the client receives, keeping its message and extensions (so the library never loads `graphql`
 * itself); in a `formatError`, `unwrapResolverError(error)` gives this error back.
 *
 * @public
 */
export class WxGraphQLError extends Error {
  /** The refusal's body, as the GraphQL error's `extensions`. */
  readonly extensions: Record<string, unknown>;

  /** @param answer - the library's answer, see {@link toWxAnswer} */
  constructor(answer: WxAnswer) {
    super(answer.body.message);
    this.name = 'WxGraphQLError';
    this.extensions = refusalPayload(answer);
  }
}
