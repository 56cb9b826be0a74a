import { Hono } from 'hono';
import type { ServerConfigJson } from '@haul/api';
import type { Config } from '../config.js';
import type { StorageCapabilities } from '../storage/storage.js';
import { acceptedTypes } from '../processing/file-policy.js';
import { TUS_PATH } from '@haul/api';
import { effectiveMaxSize } from '../uploads/declared-file.js';
import type { AppEnv } from './app-env.js';

/** The `scanning` a client is told: SCAN_MODE=auto decides at start-up, in the worker (unknown here). */
const scanningOf = (mode: Config['processing']['scanMode']) => (mode === 'required' ? true : mode === 'off' ? false : null);

/** GET /api/config: public (no token), the same for everyone, computed once. */
export function createServerConfigRoutes({ config, capabilities }: { config: Config; capabilities: StorageCapabilities }) {
  const { processing, uploads } = config;
  // The real limits: what could end up ready, not a size any larger file is only rejected after.
  const maxSize = effectiveMaxSize(config);
  const body: ServerConfigJson = {
    authMode: config.auth.mode,
    tusEndpoint: `${TUS_PATH}/`,
    maxUploadSize: maxSize,
    maxImageSize: Math.min(processing.maxImageSize, maxSize),
    maxFileSize: Math.min(processing.maxFileSize, maxSize),
    allowedTypes: { categories: processing.allowedTypes, ...acceptedTypes(processing.allowedTypes) },
    scanning: scanningOf(processing.scanMode),
    concatenation: capabilities.concatenation,
    encryptedUploads: uploads.encryptedUploads,
    maxConcatPartials: uploads.maxConcatPartials,
    thumbnailSizes: processing.thumbnailSizes,
  };
  return new Hono<AppEnv>().get('/api/config', (c) => c.json(body, 200, { 'Cache-Control': 'no-cache' }));
}
