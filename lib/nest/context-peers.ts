import { Injectable, type OnModuleInit } from '@nestjs/common';

/** `graphql`'s `GraphQLError`, as far as the library uses it. */
type GraphQLErrorClass = new (
  message: string,
  options: { extensions: Readonly<Record<string, unknown>> },
) => Error;

/** `@nestjs/websockets`' `WsException`, as far as the library uses it. */
type WsExceptionClass = new (error: object) => Error;

interface ContextPeers {
  GraphQLError?: GraphQLErrorClass;
  WsException?: WsExceptionClass;
}

/** Loaded once at start-up by {@link loadContextPeers}; read synchronously on a refusal. */
const peers: ContextPeers = {};

/**
 * A GraphQL or WebSocket call reached the library but the optional peer package it needs to
 * answer in that context could not be loaded. Install the package next to `@nestjs/graphql` or
 * `@nestjs/websockets` (both bring it along with their own installation guides).
 *
 * @public
 */
export class WxMissingPeerError extends Error {
  /**
   * @param peer - the npm package the call needs, e.g. `graphql`
   * @param context - the execution context it was needed for
   */
  constructor(
    readonly peer: string,
    context: string,
  ) {
    super(
      `a ${context} call needs the package '${peer}', which could not be loaded: install it ` +
        `(npm install ${peer}) in the app that runs the ${context} server`,
    );
    this.name = 'WxMissingPeerError';
  }
}

/**
 * Loads the optional peers of the GraphQL and WebSocket contexts when the app has them: the
 * module does it once at start-up, so answering a refusal stays synchronous. An app without them
 * (HTTP only) loses nothing: a package that is not installed is simply left out.
 *
 * @internal
 */
export async function loadContextPeers(): Promise<void> {
  const [graphql, websockets] = await Promise.allSettled([import('graphql'), import('@nestjs/websockets')]);
  if (graphql.status === 'fulfilled') peers.GraphQLError = graphql.value.GraphQLError;
  if (websockets.status === 'fulfilled') peers.WsException = websockets.value.WsException;
}

/** @internal */
export function graphQLErrorClass(): GraphQLErrorClass {
  if (peers.GraphQLError === undefined) throw new WxMissingPeerError('graphql', 'GraphQL');
  return peers.GraphQLError;
}

/** @internal */
export function wsExceptionClass(): WsExceptionClass {
  if (peers.WsException === undefined) throw new WxMissingPeerError('@nestjs/websockets', 'WebSocket');
  return peers.WsException;
}

/**
 * Loads the context peers while the module starts ({@link loadContextPeers}).
 *
 * @internal
 */
@Injectable()
export class WxContextPeers implements OnModuleInit {
  onModuleInit(): Promise<void> {
    return loadContextPeers();
  }
}
