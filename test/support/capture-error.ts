/** Runs `fn` and returns what it threw; fails the test if it returned normally. */
export function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
