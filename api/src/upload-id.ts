/**
 * Public upload ids: 24 base64url characters (144 random bits), the last segment of an upload's
 * URL. Anything else in that position is refused before it reaches storage or SQL.
 */
export const UPLOAD_ID_PATTERN = /^[A-Za-z0-9_-]{24}$/;

export const isUploadId = (value: string): boolean => UPLOAD_ID_PATTERN.test(value);
