import {
  type HookRequest, scopeMembershipHookResponseSchema, type UploadCreateHookRequest, type UploadCreateHookResponse,
  uploadCreateHookResponseSchema,
} from '@haul/api';
import type { z } from 'zod';
import type { User } from '../auth/user.js';
import type { Config } from '../config.js';
import { HaulError } from '../errors.js';
import type { Logger } from '../logger.js';
import { newMessageId, signedHeaders, verify } from '../webhooks/signature.js';
import { createTtlCache } from './ttl-cache.js';

/** An answer is a small JSON object; anything longer is not one. */
const MAX_ANSWER_BYTES = 16 * 1024;

export interface HookClient {
  /** Whether the application says `user` belongs to `scope` (cached for HOOKS_CACHE_SECONDS). */
  isMember(user: User, scope: string): Promise<boolean>;
  /** The application's verdict on an upload about to be created (never cached). */
  beforeCreate(user: User, upload: UploadCreateHookRequest['upload']): Promise<UploadCreateHookResponse>;
}

class HookFailure extends Error {}

async function readBounded(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_ANSWER_BYTES) {
      await reader.cancel().catch(() => {});
      throw new HookFailure(`answer over ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The access hook over HTTP (HOOKS_URL): each question a signed JSON POST (Standard Webhooks
 * headers, HOOKS_SECRET), each answer a 200 whose JSON body is signed with the same secret and the
 * request's `webhook-id` — so an answer cannot come from anyone else, or be replayed for another
 * question. Whatever else happens (timeout after HOOKS_TIMEOUT_MS, refused connection, another
 * status, a redirect, a bad signature or shape) is a failure: the caller is refused with a 503
 * HOOK_UNAVAILABLE, never let in.
 */
export function createHookClient({ hooks, logger, fetch = globalThis.fetch }: {
  hooks: NonNullable<Config['hooks']>;
  logger: Logger;
  fetch?: typeof globalThis.fetch;
}): HookClient {
  const memberships = createTtlCache<boolean>({ ttlMs: hooks.cacheMs, maxEntries: hooks.cacheMaxEntries });
  const pending = new Map<string, Promise<boolean>>();

  async function ask<S extends z.ZodType>(request: HookRequest, schema: S): Promise<z.infer<S>> {
    const id = newMessageId();
    const body = JSON.stringify(request);
    const started = performance.now();
    try {
      let response: Response;
      try {
        response = await fetch(hooks.url, {
          method: 'POST',
          body,
          headers: { 'Content-Type': 'application/json', ...signedHeaders(hooks.key, id, body) },
          redirect: 'error',
          signal: AbortSignal.timeout(hooks.timeoutMs),
        });
      } catch (error) {
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        throw new HookFailure(timedOut ? `no answer within ${hooks.timeoutMs} ms` : 'unreachable', { cause: error });
      }
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => {});
        throw new HookFailure(`answered ${response.status}`);
      }
      const text = await readBounded(response).catch((error: unknown) => {
        throw error instanceof HookFailure ? error : new HookFailure(`no answer within ${hooks.timeoutMs} ms`, { cause: error });
      });
      if (!verify(hooks.key, response.headers, text, { expectedId: id })) throw new HookFailure('answer not signed with HOOKS_SECRET for this request');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new HookFailure('answer is not JSON');
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) throw new HookFailure(`answer does not match ${request.type}'s answer schema`);
      return parsed.data;
    } catch (error) {
      if (!(error instanceof HookFailure)) throw error;
      logger.warn('access hook failed: refusing', { type: request.type, reason: error.message, ms: Math.round(performance.now() - started), err: error.cause });
      throw new HaulError('HOOK_UNAVAILABLE', `The application's access check failed (${error.message}); retry shortly`, {
        headers: { 'Retry-After': '2' },
        cause: error,
      });
    }
  }

  const userOf = (user: User) => ({ id: user.id, service: user.service ?? null });

  return {
    isMember(user, scope) {
      const key = `${user.id}\u0000${scope}`;
      const cached = memberships.get(key);
      if (cached !== undefined) return Promise.resolve(cached);
      // Concurrent questions about the same membership share one request.
      let answer = pending.get(key);
      if (!answer) {
        answer = ask({ type: 'scope.membership', user: userOf(user), scope }, scopeMembershipHookResponseSchema)
          .then(({ allow }) => {
            memberships.set(key, allow);
            return allow;
          })
          .finally(() => pending.delete(key));
        pending.set(key, answer);
      }
      return answer;
    },
    beforeCreate: (user, upload) => ask({ type: 'upload.create', user: userOf(user), upload }, uploadCreateHookResponseSchema),
  };
}
