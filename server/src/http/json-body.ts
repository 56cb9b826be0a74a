import type { Context } from 'hono';
import type { z } from 'zod';
import { HaulError } from '../errors.js';

const MAX_JSON_BYTES = 64 * 1024;

/** Reads at most `limit` bytes of the body; a longer body is refused as it streams in. */
async function readBounded(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (!body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw new HaulError('INVALID_REQUEST', `JSON body must be at most ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads a small JSON body (bounded) and validates it; any problem is a 400 naming the field.
 * `optional`: the request's fields are all optional, so no body at all means `{}` (a bare
 * `POST /api/uploads/:id/links` would otherwise be refused as invalid JSON).
 */
export async function parseJsonBody<T extends z.ZodType>(c: Context, schema: T, { optional = false }: { optional?: boolean } = {}): Promise<z.infer<T>> {
  const text = await readBounded(c.req.raw.body, MAX_JSON_BYTES);
  let body: unknown;
  try {
    body = optional && text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new HaulError('INVALID_REQUEST', 'Body must be valid JSON');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HaulError('INVALID_REQUEST', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}
