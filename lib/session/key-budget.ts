import { hash } from 'node:crypto';

/** 22 base64url characters: 132 bits of SHA-256, far past any collision a budget could fear. */
const BUDGET_ID_LENGTH = 22;
const BUDGET_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The budget id of `sessionKey` as held for the user `userId` (`wxUserId(appId, openid)`): what
 * `keyBudgetId` answers, from the store's side, where users are known by their `userId`. The key
 * is base64 and holds no `|`, so the text hashed names one (user, key) pair.
 *
 * @internal
 */
export function userKeyBudgetId(userId: string, sessionKey: string): string {
  // One-shot `hash`: no Hash object per request (a third of the time of createHash's chain).
  return hash('sha256', `${userId}|${sessionKey}`, 'base64url').slice(0, BUDGET_ID_LENGTH);
}

/**
 * Checks the arguments of `takeKeyAttempt`, the same way in every store: a budget that expires at
 * once or never, or a limit that is no number, would be a budget that does not bound anything.
 *
 * @throws TypeError for a budget id that is not 1-128 base64url characters (it goes into a key
 *   name, where a brace would move it to another Redis Cluster slot); RangeError for a limit that
 *   is not a positive integer or a TTL that is not a positive finite number
 * @internal
 */
export function checkKeyAttempt(
  store: string,
  budgetId: string,
  maxAttempts: number,
  ttlSeconds: number,
): void {
  checkBudgetId(store, budgetId);
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`${store}: maxAttempts must be a positive integer`);
  }
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`${store}: ttlSeconds of a key-attempt budget must be a positive finite number`);
  }
}

/**
 * Checks a budget id (see {@link checkKeyAttempt}).
 *
 * @internal
 */
export function checkBudgetId(store: string, budgetId: string): void {
  if (typeof budgetId !== 'string' || !BUDGET_ID.test(budgetId)) {
    throw new TypeError(`${store}: a key budget id must be 1-128 base64url characters (use keyBudgetId)`);
  }
}
