/**
 * The project's one result vocabulary for work that fails without throwing (bad input, a record that cannot be
 * mapped): a Result is ok with a value, or not ok with an error saying why. Transient failures of infrastructure
 * are not results: they are thrown as RetriableError (errors.ts) and retried by whoever owns the retry. The stream
 * runtime's StepResult (ok / dlq / drop, services/stream/runtime/step.ts) refines the not-ok side for records.
 */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

/**
 * What became of one event offered to the system (ingest's per-event results, which its HTTP API answers with):
 * accepted (durable in Kafka), duplicate (an event_id acknowledged before: nothing written again), rejected (invalid,
 * with the reasons).
 */
export const EVENT_OUTCOMES = ['accepted', 'duplicate', 'rejected'] as const;
