import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

/** One request, sent as given: no client-side JSON encoding, so malformed bodies go out byte-exact. */
export interface RawRequest {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** Sent as is; a string is UTF-8. */
  body?: string | Buffer;
  /** Send without Content-Length, as chunked transfer encoding. */
  chunked?: boolean;
  /** Use a connection of its own, closed afterwards (for answers that may close the socket). */
  fresh?: boolean;
}

/** What came back, enough to compare two answers byte for byte. */
export interface RawResponse {
  status: number;
  contentType: string;
  text: string;
  headers: IncomingHttpHeaders;
  ms: number;
}

/** A request that got no HTTP answer: refused, reset, or no answer within the timeout. */
export class NoAnswerError extends Error {
  constructor(
    readonly request: RawRequest,
    readonly reason: string,
  ) {
    super(`no answer to ${request.method ?? 'POST'} ${request.path}: ${reason}`);
    this.name = 'NoAnswerError';
  }
}

/** The status, content type and body of an answer: equal keys mean byte-identical answers. */
export function answerKey(response: RawResponse): string {
  return `${response.status}\n${response.contentType}\n${response.text}`;
}

/**
 * An HTTP/1.1 client for 127.0.0.1 only, with a small pool of keep-alive connections: the fuzz
 * loops send thousands of requests without opening a socket for each.
 */
export class LoopbackClient {
  private readonly agent: Agent;

  constructor(
    readonly port: number,
    readonly maxSockets = 8,
    readonly timeoutMs = 10_000,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  send(req: RawRequest): Promise<RawResponse> {
    const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body;
    const headers: Record<string, string> = { ...req.headers };
    if (body !== undefined) {
      if (req.chunked === true) headers['transfer-encoding'] = 'chunked';
      else headers['content-length'] = String(body.length);
    }
    if (req.fresh === true) headers['connection'] = 'close';
    const started = performance.now();
    return new Promise<RawResponse>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port: this.port,
          method: req.method ?? 'POST',
          path: req.path,
          headers,
          agent: req.fresh === true ? false : this.agent,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () =>
            resolve({
              status: incoming.statusCode ?? 0,
              contentType: String(incoming.headers['content-type'] ?? ''),
              text: Buffer.concat(chunks).toString('utf8'),
              headers: incoming.headers,
              ms: performance.now() - started,
            }),
          );
          incoming.on('error', (error) => reject(new NoAnswerError(req, error.message)));
        },
      );
      outgoing.setTimeout(this.timeoutMs, () => {
        outgoing.destroy(new Error(`timeout after ${this.timeoutMs} ms`));
      });
      outgoing.on('error', (error) => reject(new NoAnswerError(req, error.message)));
      if (body === undefined) {
        outgoing.end();
      } else if (req.chunked === true) {
        // Several chunks, so the server cannot know the size before reading.
        const step = 4096;
        for (let offset = 0; offset < body.length; offset += step) {
          outgoing.write(body.subarray(offset, offset + step));
        }
        outgoing.end();
      } else {
        outgoing.end(body);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Runs `work` over `items` with at most `concurrency` in flight, in order of index. Stops
 * starting new items once `deadlineMs` has passed and reports it: every loop is bounded in time.
 */
export async function runPool<T, R>(
  items: readonly T[],
  concurrency: number,
  deadlineMs: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<{ results: R[]; completed: number; timedOut: boolean }> {
  const results: R[] = new Array<R>(items.length);
  const stopAt = performance.now() + deadlineMs;
  let next = 0;
  let completed = 0;
  let timedOut = false;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      if (performance.now() > stopAt) {
        timedOut = true;
        return;
      }
      const index = next++;
      results[index] = await work(items[index] as T, index);
      completed += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  return { results, completed, timedOut };
}
