/**
 * `@haul/server` as a library: importing it starts nothing. Compose a server with
 * `createHaulServer(loadConfig(env), overrides)`; `main.ts` is the command-line entry that does
 * exactly that from `process.env`.
 */
export { createHaulServer, type HaulServer, type HaulServerOverrides } from './haul-server.js';
export { createHaulWorker, type HaulWorker } from './haul-worker.js';
export { ConfigError, loadConfig, parseByteSize, type Config } from './config.js';
export type { HaulApp } from './app.js';
export type { User } from './auth/user.js';
export { ownerOnly, type ScopeReadPolicy } from './http/access.js';
export type { BeforeCreateHook } from './http/create-policy.js';
export type { WebhookDelivery, WebhookSender } from './webhooks/delivery.js';
export { createLogger, silentLogger, type Logger, type LogLevel } from './logger.js';
export type { StatusChange, StatusChangeHook } from './uploads/status-change.js';
export type { UploadRecord } from './uploads/upload-repository.js';
export { HaulError } from './errors.js';
