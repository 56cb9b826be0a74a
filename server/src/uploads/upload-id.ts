import { randomBytes } from 'node:crypto';

export { isUploadId } from '@haul/api';

/** A new public upload id in @haul/api's format: 24 base64url characters, 144 random bits. */
export const newUploadId = (): string => randomBytes(18).toString('base64url');
