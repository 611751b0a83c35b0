import type { CapturingLogger } from '../../support/capturing-logger.js';
import type { RawResponse } from './http.js';

/** A secret found where it must never be. */
export interface Leak {
  secret: string;
  where: string;
  excerpt: string;
}

/**
 * The secrets of one test file and every text that left the library there (log lines, error
 * messages, responses with their headers), to prove at the end that no secret appears in any.
 * Texts are kept once each: the fuzz answers are mostly the same few bodies.
 */
export class SecretLedger {
  private readonly secrets = new Map<string, string>();
  private readonly texts = new Map<string, string>();
  private readonly loggers: Array<[string, CapturingLogger]> = [];
  private responses = 0;

  /** A session key, looked for as base64, base64url and hex (both cases). */
  addSessionKey(base64: string, label = 'session key'): void {
    const bytes = Buffer.from(base64, 'base64');
    this.addSecret(`${label} (base64)`, base64);
    this.addSecret(`${label} (base64url)`, bytes.toString('base64url'));
    this.addSecret(`${label} (hex)`, bytes.toString('hex'));
    this.addSecret(`${label} (HEX)`, bytes.toString('hex').toUpperCase());
  }

  addSecret(label: string, value: string): void {
    if (value.length < 8) throw new Error(`SecretLedger: ${label} is too short to search for reliably`);
    this.secrets.set(value, label);
  }

  get secretCount(): number {
    return this.secrets.size;
  }

  /** How many responses and other texts were recorded. */
  get recorded(): { responses: number; distinctTexts: number; logLines: number } {
    const logLines = this.loggers.reduce((sum, [, logger]) => sum + logger.lines.length, 0);
    return { responses: this.responses, distinctTexts: this.texts.size, logLines };
  }

  /** Watches a logger: its lines are searched at the end. */
  watchLogger(where: string, logger: CapturingLogger): void {
    this.loggers.push([where, logger]);
  }

  /** A response: status line, headers and body. */
  recordResponse(where: string, response: RawResponse): void {
    this.responses += 1;
    this.recordText(where, `${response.status} ${JSON.stringify(response.headers)}\n${response.text}`);
  }

  /** Any other text that leaves the library: an error's message, stack and properties. */
  recordText(where: string, text: string): void {
    if (!this.texts.has(text)) this.texts.set(text, where);
  }

  /** Every secret found in any recorded text or log line. */
  leaks(): Leak[] {
    const found: Leak[] = [];
    const search = (where: string, text: string): void => {
      for (const [secret, label] of this.secrets) {
        const at = text.indexOf(secret);
        if (at >= 0) found.push({ secret: label, where, excerpt: text.slice(Math.max(0, at - 40), at + 60) });
      }
    };
    for (const [text, where] of this.texts) search(where, text);
    for (const [where, logger] of this.loggers) {
      for (const line of logger.lines) search(`log of ${where}`, line);
    }
    return found;
  }
}
