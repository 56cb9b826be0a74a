/**
 * `@haul/api`: the contract between a Haul server and its clients — the JSON schemas of every
 * body, the error codes, paths and headers, the upload-id format and the status machine.
 * Browser-safe (no Node module); zod is its only dependency.
 */
export * from './dev-token-schema.js';
export * from './errors.js';
export * from './hook-schema.js';
export * from './paths.js';
export * from './scope.js';
export * from './server-config-schema.js';
export * from './upload-id.js';
export * from './upload-schema.js';
export * from './upload-status.js';
export * from './usage-schema.js';
export * from './webhook-schema.js';
