import { randomBytes } from 'node:crypto';

/**
 * Public upload ids: 24 base64url characters (144 random bits), the last segment of an upload's
 * URL. Anything else in that position is rejected before it reaches storage or SQL.
 */
const UPLOAD_ID = /^[A-Za-z0-9_-]{24}$/;

export const newUploadId = (): string => randomBytes(18).toString('base64url');

export const isUploadId = (value: string): boolean => UPLOAD_ID.test(value);
