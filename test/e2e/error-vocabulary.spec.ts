import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import * as core from '../../lib/entries/core.js';
import {
  WxApiAnswerRejectedError,
  WxApiError,
  WxApiLimitError,
  WxApiSecurityRefusedError,
  WxApiTimeoutError,
  WxApiUnavailableError,
  WxDecryptionError,
  WxIdentityMismatchError,
  WxKeyAttemptsBusyError,
  WxMalformedPayloadError,
  WxMissingPeerError,
  WxOpenDataConfigError,
  WxOpenDataError,
  WxPayloadValidationError,
  WxProvenanceError,
  WxReplayedPayloadError,
  WxSessionKeyError,
  WxSessionNotFoundError,
  WxSessionStoreUnavailableError,
  WxSignatureError,
  WxUnsupportedContextError,
  WxWatermarkError,
  type WxApiOperation,
  type WxOpenDataErrorCode,
} from '../../lib/entries/core.js';
import { toWxAnswer, WX_ANSWER_CODES, type WxAnswerCode } from '../../lib/nest/http-errors.js';

const silent = { warn: () => undefined } as unknown as Logger;
const answerOf = (error: WxOpenDataError) => toWxAnswer(error, silent, 'TEST /vocabulary [request r]');

/** Every WxApiOperation, so each errcode is answered for each call that can meet it. */
const OPERATIONS: readonly WxApiOperation[] = [
  'code2Session',
  'getAccessToken',
  'checkSessionKey',
  'resetUserSessionKey',
  'getPhoneNumber',
  'checkEncryptedData',
  'getUserEncryptKey',
  'setUserStorage',
  'removeUserStorage',
  'setUserInteractiveData',
  'getPaidUnionId',
  'getPluginOpenPId',
  'getUserRiskRank',
  'createActivityId',
];
/** The errcodes the answer tells apart, and one it does not (40001: a bad secret or token). */
const ERRCODES = [40029, 40163, 1007, 87007, 87009, 45011, 40226, 40001];

/**
 * Instances of every concrete error class /core exports, each way it can be built. Keyed by class
 * name: a class added to the hierarchy without a row here fails the first test.
 */
const SAMPLES: Record<string, () => WxOpenDataError[]> = {
  WxMalformedPayloadError: () => [new WxMalformedPayloadError('iv', 'must decode to 16 bytes')],
  WxDecryptionError: () => [new WxDecryptionError()],
  WxSessionKeyError: () => [new WxSessionKeyError()],
  WxWatermarkError: () =>
    (
      ['WATERMARK_INVALID', 'WATERMARK_APPID_MISMATCH', 'WATERMARK_EXPIRED', 'WATERMARK_FROM_FUTURE'] as const
    ).map((code) => new WxWatermarkError(code)),
  WxSignatureError: () => [new WxSignatureError()],
  WxIdentityMismatchError: () => [new WxIdentityMismatchError('openId')],
  WxPayloadValidationError: () => [new WxPayloadValidationError(['phoneNumber'])],
  WxSessionNotFoundError: () => [new WxSessionNotFoundError()],
  WxOpenDataConfigError: () => [new WxOpenDataConfigError(['appId is required'])],
  WxMissingPeerError: () => [new WxMissingPeerError('redis', ['keyv'], ['keyv', '@keyv/redis'])],
  WxUnsupportedContextError: () => [new WxUnsupportedContextError('rpc')],
  WxSessionStoreUnavailableError: () => [new WxSessionStoreUnavailableError('timeout', 'get')],
  WxReplayedPayloadError: () => [new WxReplayedPayloadError()],
  WxKeyAttemptsBusyError: () => [new WxKeyAttemptsBusyError()],
  WxApiError: () =>
    OPERATIONS.flatMap((operation) => ERRCODES.map((errcode) => new WxApiError(operation, errcode))),
  WxApiUnavailableError: () => [new WxApiUnavailableError('code2Session', 'network', 'ECONNREFUSED')],
  WxApiTimeoutError: () => [new WxApiTimeoutError('getPhoneNumber', 5000)],
  WxApiAnswerRejectedError: () => [new WxApiAnswerRejectedError('getPhoneNumber', 'bad-signature')],
  WxApiSecurityRefusedError: () => [
    new WxApiSecurityRefusedError('getPhoneNumber', 40234, 'check privateKey'),
  ],
  WxApiLimitError: () => [new WxApiLimitError('setUserStorage', 'pairs', 'kv_list', 'has 200 pairs')],
  WxProvenanceError: () => [new WxProvenanceError()],
};
/** Classes that cannot be built, only extended. */
const ABSTRACT = ['WxOpenDataError', 'WxApiCallError', 'WxApiSecurityError'];

/**
 * What each answer tells the client to do next. Every answer code has a row, and every message
 * of that code must say it.
 */
const NEXT_STEP: Record<WxAnswerCode, RegExp> = {
  WX_MALFORMED_PAYLOAD: /^\w+: (must|is) /, // the field's rule is the fix: "iv: must decode to 16 bytes"
  WX_SESSION_REQUIRED: /call wx\.login, log in, and send the new token/,
  WX_OPEN_DATA_REJECTED: /call wx\.login, log in again, then get the data again/,
  WX_KEY_BUSY: /retry shortly/,
  WX_SESSION_STORE_UNAVAILABLE: /retry shortly/,
  WX_CODE_REJECTED:
    /(call wx\.login|call wx\.pluginLogin|tap the phone number button) again and send the new code|get a new one and send it/,
  WX_SESSION_KEY_STALE: /call wx\.login again/,
  WX_RATE_LIMITED: /wait a minute, then retry/,
  WX_USER_BLOCKED: /do not retry/,
  WX_API_ERROR: /retry later/,
  WX_API_UNAVAILABLE: /retry later/,
  WX_API_TIMEOUT: /retry/,
  WX_API_ANSWER_REJECTED: /retry later/,
  WX_API_SECURITY_REFUSED: /retry later/,
  WX_LIMIT_EXCEEDED: /fix the request/,
  WX_SERVER_MISCONFIGURED: /do not retry until it is fixed/,
};

const hierarchyClasses = Object.entries(core as Record<string, unknown>)
  .filter(
    ([, value]) =>
      typeof value === 'function' &&
      (value === WxOpenDataError || (value as { prototype: unknown }).prototype instanceof WxOpenDataError),
  )
  .map(([name]) => name);
const samples = Object.values(SAMPLES).flatMap((make) => make());

describe('one error hierarchy, one code vocabulary', () => {
  it('every error class /core exports is in the WxOpenDataError hierarchy and has samples here', () => {
    expect(hierarchyClasses.filter((name) => !ABSTRACT.includes(name)).sort()).toEqual(
      Object.keys(SAMPLES).sort(),
    );
    for (const [name, make] of Object.entries(SAMPLES)) {
      for (const error of make()) {
        expect(error).toBeInstanceOf(WxOpenDataError);
        expect(error.name).toBe(name);
      }
    }
  });

  it('no other error class in lib/ escapes to callers outside the hierarchy', () => {
    // The classes that extend Error directly, each for a stated reason.
    const allowed: Record<string, string> = {
      WxOpenDataError: 'the root of the hierarchy',
      WxGraphQLError: "the GraphQL form of an answer: its extensions carry the answer's code",
      UnopenableSecretError: 'internal to the Redis store, always turned into a 503 there',
      NotCompiled: 'internal to the compiled transform and validation plans, never thrown out of them',
    };
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts') && !path.includes(join('lib', 'testing'))) {
          for (const [, name] of readFileSync(path, 'utf8').matchAll(
            /class (\w+) extends (?:Type|Range)?Error\b/g,
          ))
            found.push(name as string);
        }
      }
    };
    walk('lib');
    expect(found.sort()).toEqual(Object.keys(allowed).sort());
  });

  it('the table maps every error code, and only codes some error carries', () => {
    const carried = new Set<WxOpenDataErrorCode>(samples.map((error) => error.code));
    expect([...carried].sort()).toEqual(Object.keys(WX_ANSWER_CODES).sort());
  });

  it("every error is answered with one of its table row's codes, and every answer code in the table is reached", () => {
    const reached = new Set<WxAnswerCode>();
    const outside: string[] = [];
    for (const error of samples) {
      const { body } = answerOf(error);
      if (!WX_ANSWER_CODES[error.code].includes(body.code))
        outside.push(`${error.code} answered ${body.code}`);
      reached.add(body.code);
    }
    expect(outside).toEqual([]);
    const tabled = new Set(Object.values(WX_ANSWER_CODES).flat());
    expect([...reached].sort()).toEqual([...tabled].sort());
    expect([...tabled].sort()).toEqual(Object.keys(NEXT_STEP).sort());
  });

  it('every answer tells the client what to do next', () => {
    const silentOnWhatToDo: string[] = [];
    for (const error of samples) {
      const { body } = answerOf(error);
      if (!NEXT_STEP[body.code].test(body.message)) silentOnWhatToDo.push(`${body.code}: ${body.message}`);
    }
    expect(silentOnWhatToDo).toEqual([]);
  });

  it('a rejected phone number code says to tap the button again, never wx.login', () => {
    for (const errcode of [40029, 40163]) {
      const { body } = answerOf(new WxApiError('getPhoneNumber', errcode));
      expect(body.code).toBe('WX_CODE_REJECTED');
      expect(body.message).toMatch(/tap the phone number button again/);
      expect(body.message).not.toMatch(/wx\.login/);
    }
  });

  it("the README's table lists every error code with the answer codes of its row", () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('## Errors and HTTP statuses'));
    const rows = section
      .slice(0, section.indexOf('\n\n', section.indexOf('| cause')))
      .split('\n')
      .filter((line) => line.startsWith('|') && !line.startsWith('| cause') && !line.startsWith('| ---'));
    const documented = new Map<string, Set<string>>();
    let last: string[] = [];
    for (const row of rows) {
      const cells = row.split('|').map((cell) => cell.trim());
      const errorCodes = [...(cells[2] ?? '').matchAll(/\(`([A-Z_*]+)`\)/g)].map(
        (match) => match[1] as string,
      );
      // A row naming only the class (`WxApiError`) continues the codes of the row above.
      const codes = errorCodes.length > 0 ? errorCodes : last;
      last = codes;
      const answer = /`([A-Z_]+)`/.exec(cells[4] ?? '')?.[1];
      expect(answer).toBeDefined();
      for (const code of codes) {
        const expanded = code.endsWith('*')
          ? Object.keys(WX_ANSWER_CODES).filter((known) => known.startsWith(code.slice(0, -1)))
          : [code];
        for (const one of expanded) {
          if (!documented.has(one)) documented.set(one, new Set());
          documented.get(one)?.add(answer as string);
        }
      }
    }
    expect([...documented.keys()].sort()).toEqual(Object.keys(WX_ANSWER_CODES).sort());
    for (const [code, answers] of documented) {
      expect({ code, answers: [...answers].sort() }).toEqual({
        code,
        answers: [...(WX_ANSWER_CODES[code as WxOpenDataErrorCode] ?? [])].sort(),
      });
    }
  });
});
