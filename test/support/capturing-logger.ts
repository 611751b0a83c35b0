import type { LoggerService } from '@nestjs/common';

/** A Nest logger that keeps every line, so tests can assert what never reaches a log. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];

  log(message: unknown, ...rest: unknown[]): void {
    this.capture('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.capture('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.capture('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.capture('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.capture('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.capture('fatal', message, rest);
  }

  /** Every captured line containing `needle`. */
  containing(needle: string): string[] {
    return this.lines.filter((line) => line.includes(needle));
  }

  private capture(level: string, message: unknown, rest: unknown[]): void {
    const parts = [message, ...rest].map((part) =>
      part instanceof Error
        ? `${part.message}\n${part.stack ?? ''}`
        : typeof part === 'string'
          ? part
          : JSON.stringify(part),
    );
    this.lines.push(`${level} ${parts.join(' ')}`);
  }
}
