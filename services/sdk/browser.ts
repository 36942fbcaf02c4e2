/**
 * The SDK's browser entry: everything of index.ts plus the localStorage offline queue. Bundled by the web
 * dashboard's practice page (services/web, Vite); no Node imports.
 */
export * from './index.ts';
export { LocalStorageQueue, type WebStorage } from './browser-storage.ts';
