import { Injectable, type OnModuleInit } from '@nestjs/common';
import { WxMissingPeerError } from '../core/index.js';

/** `@nestjs/websockets`' `WsException`, as far as the library uses it. */
type WsExceptionClass = new (error: object) => Error;

/** Loaded once at start-up by {@link loadContextPeers}; read synchronously on a refusal. */
let wsException: WsExceptionClass | undefined;

/**
 * Loads the optional peer of the WebSocket context, `@nestjs/websockets`, when the app has it: the
 * module does it once at start-up (Nest's core is loaded by then, so it costs little), so
 * answering a refusal stays synchronous. An app without it (HTTP only) loses nothing: a package
 * that is not installed is simply left out. GraphQL needs no peer: see `WxGraphQLError`.
 *
 * @internal
 */
export async function loadContextPeers(): Promise<void> {
  try {
    ({ WsException: wsException } = await import('@nestjs/websockets'));
  } catch {
    wsException = undefined;
  }
}

/** @internal */
export function wsExceptionClass(): WsExceptionClass {
  if (wsException === undefined) {
    // The gateway itself needs it too: install it in the app that runs the WebSocket server.
    throw new WxMissingPeerError('a WebSocket call', ['@nestjs/websockets'], undefined, 'WebSocket setup');
  }
  return wsException;
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
