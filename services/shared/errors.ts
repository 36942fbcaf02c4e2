/**
 * Error kinds that carry their nature, as kafkajs' errors carry `retriable`: a caller decides by the kind, never by
 * the text of a message.
 * - RetriableError: infrastructure failed (registry unreachable, a conflicting writer); the same input may succeed
 *   later, so the consumer runtime retries the same record and never skips it.
 * - BadDataError: the input itself is wrong (bytes that never decode, a schema id the registry does not know); a
 *   processor dead-letters it with this error as the cause.
 */
export class ServiceError extends Error {
  readonly retriable: boolean;
  constructor(message: string, retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.retriable = retriable;
  }
}

export class RetriableError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
  }
}

export class BadDataError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, options);
  }
}

/** The registry could not answer (network, 5xx, timeouts, refused credentials): retry. */
export class RegistryUnavailableError extends RetriableError {}

/**
 * PostgreSQL, which holds the subject keys and erasures a decode consults (shared/subjects.ts), could not answer (a
 * restart, a failover, the network): the record is fine, so retry it; never dead-letter it.
 */
export class SubjectStoreUnavailableError extends RetriableError {}

/** A record that will never decode: not wire format, unknown writer schema, Avro that does not parse. */
export class UndecodableRecordError extends BadDataError {}

/** True for an error whose kind says that retrying the same input can succeed. */
export const isRetriable = (err: unknown): boolean => err instanceof ServiceError && err.retriable;

/**
 * The kind of a failed schema-registry call (the HTTP status the registry client reports): only "not found" is
 * about the record (its writer schema id does not exist); anything else, including the client's status 400 for a
 * request that never reached the registry, is the registry's or the network's and is retried.
 */
export function registryFailure(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const status = (err as { status?: unknown } | null)?.status;
  return status === 404
    ? new UndecodableRecordError(message, { cause: err })
    : new RegistryUnavailableError(message, { cause: err });
}
