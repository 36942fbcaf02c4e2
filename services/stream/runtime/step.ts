/**
 * Typed step results (PostHog style). A step never throws for bad data: it returns one of these and the runtime
 * decides what happens to each kind. A step MAY throw for a transient failure of infrastructure (registry
 * unreachable): the runtime then retries the same record with backoff and never skips it.
 */
export type Ok<T> = { type: 'ok'; value: T };
export type DeadLetter = { type: 'dlq'; reason: string; error: Error };
export type Drop = { type: 'drop'; reason: string };
export type StepResult<T> = Ok<T> | DeadLetter | Drop;

export const ok = <T>(value: T): Ok<T> => ({ type: 'ok', value });

export const dlq = (reason: string, error?: unknown): DeadLetter => ({
  type: 'dlq',
  reason,
  error: error instanceof Error ? error : new Error(error === undefined ? reason : String(error)),
});

export const drop = (reason: string): Drop => ({ type: 'drop', reason });

/** Chains a step after an ok result; dlq and drop pass through untouched. (Not named `then`: a module exporting
 * `then` is a thenable namespace and `await import()` of it never settles.) */
export function andThen<A, B>(result: StepResult<A>, next: (value: A) => StepResult<B>): StepResult<B> {
  return result.type === 'ok' ? next(result.value) : result;
}
