/** `@haul/server/api`: the JSON shapes of the HTTP API, shared with clients (the SDK imports these). */
export * from './dev-token-schema.js';
export * from './server-config-schema.js';
export * from './upload-schema.js';
