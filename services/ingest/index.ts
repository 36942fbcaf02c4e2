/**
 * Public surface of services/ingest: ingest validation and server-side stamping reused by import and re-drive, API keys.
 * Other services import only this file (checked by `npm run arch`); everything else in the folder is private.
 */
export { createApiKey, KEY_SCOPES } from './apikeys.ts';
export type { KeyScope } from './apikeys.ts';
export { applyServerFields } from './apply.ts';
export type { RequestContext } from './apply.ts';
export { ingestEnv } from './config.ts';
export { isOfflineSynced } from './skew.ts';
export { decodeEvent, validateEvent } from './validate.ts';
export type { CandidateEvent, FieldError } from './validate.ts';
