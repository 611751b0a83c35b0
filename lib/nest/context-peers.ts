import { Injectable, type OnModuleInit } from '@nestjs/common';

/** `@nestjs/websockets`' `WsException`, as far as the library uses it. */
type WsExceptionClass = new (error: object) => Error;

/** Loaded once at start-up by {@link loadContextPeers}; read synchronously on a refusal. */
let wsException: WsExceptionClass | undefined;

/**
 * A gateway message reached the library but `@nestjs/websockets`, which it needs to answer in that
 * context, could not be loaded when the module started. Install it in the app that runs the
 * gateway (the gateway itself needs it too).
 *
 * @public
 */
export class WxMissingPeerError extends Error {
  /**
   * @param peer - the npm package the call needs
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
  if (wsException === undefined) throw new WxMissingPeerError('@nestjs/websockets', 'WebSocket');
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
