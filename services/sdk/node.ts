/** The SDK for Node: everything in ./index.ts plus the crash-safe file queue. */
export * from './index.ts';
export { FileStorage, type FileStorageOptions } from './file-storage.ts';
