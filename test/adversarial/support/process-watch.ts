import { inspect } from 'node:util';

/**
 * The real `process` of the Jest worker. Inside a test file `process` is a copy made by the test
 * environment: listeners added to it never hear the worker's `unhandledRejection` events. Node's
 * core modules live in the worker's own realm, so a function built with that realm's `Function`
 * constructor (reached through any core function) sees the worker's global `process`.
 */
const OuterFunction = inspect.constructor as FunctionConstructor;
const workerProcess = new OuterFunction('return process')() as NodeJS.Process;

/** What {@link watchProcess} heard. */
export interface ProcessEvents {
  readonly unhandledRejections: unknown[];
  readonly uncaughtExceptions: unknown[];
  /** The worker's pid, to show that the process answering is the one that started. */
  readonly pid: number;
  stop(): void;
}

/**
 * Listens for unhandled rejections and uncaught exceptions on the worker process until `stop()`.
 * Jest's own listeners stay in place (they also fail the running test).
 */
export function watchProcess(): ProcessEvents {
  const unhandledRejections: unknown[] = [];
  const uncaughtExceptions: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    unhandledRejections.push(reason);
  };
  const onException = (error: unknown): void => {
    uncaughtExceptions.push(error);
  };
  workerProcess.on('unhandledRejection', onRejection);
  workerProcess.on('uncaughtException', onException);
  return {
    unhandledRejections,
    uncaughtExceptions,
    pid: workerProcess.pid,
    stop: () => {
      workerProcess.off('unhandledRejection', onRejection);
      workerProcess.off('uncaughtException', onException);
    },
  };
}

/**
 * Proves the watcher can fire: makes one deliberate unhandled rejection, waits until the watcher
 * saw it (at most `timeoutMs`), then handles it so that Jest does not fail the test for it.
 *
 * @returns whether the watcher saw the canary
 */
export async function rejectionCanary(events: ProcessEvents, timeoutMs = 2_000): Promise<boolean> {
  const canary = new Error('adversarial canary: a deliberate unhandled rejection');
  const before = events.unhandledRejections.length;
  const rejected = Promise.reject(canary);
  const deadline = Date.now() + timeoutMs;
  while (events.unhandledRejections.length === before && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const seen = events.unhandledRejections.lastIndexOf(canary) >= before;
  rejected.catch(() => undefined);
  // Let the 'rejectionHandled' event reach Jest before the test ends.
  await new Promise((resolve) => setTimeout(resolve, 20));
  if (seen) events.unhandledRejections.splice(events.unhandledRejections.indexOf(canary), 1);
  return seen;
}
