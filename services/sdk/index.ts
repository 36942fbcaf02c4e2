/**
 * The studystream client SDK (Node and browsers; zero runtime dependencies beyond web-standard fetch and crypto).
 * Node-only extras (FileStorage) are in ./node.ts so browser bundles never see node: imports. The Hono middleware
 * needs `hono` as a peer only when it is used (it imports types from it, nothing at runtime).
 */
export {
  StudystreamClient,
  StudystreamError,
  mintIngestToken,
  parseRetryAfter,
  type ClientOptions,
  type ClientStats,
  type FieldError,
  type FlushResult,
  type Rejection,
  type TransportErrorKind,
} from './client.ts';
export { MemoryStorage, type QueueStorage } from './storage.ts';
export { trackApiCalls, type TrackApiCallsOptions } from './middleware.ts';
export * from './types.ts';
