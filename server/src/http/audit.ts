import type { Context } from 'hono';
import type { Database } from '../db/database.js';
import { toNumber } from '../db/database.js';
import { HaulError } from '../errors.js';
import type { AppEnv } from './app-env.js';

export type AuditAction = 'download' | 'link_download' | 'link_create' | 'delete' | 'rescope' | 'service_request';

/**
 * The audit trail (who, what, when, from where) and the per-user rate limits, which count the
 * same rows — so limits hold across every instance sharing the database.
 */
export function createAudit({ db, trustProxy }: { db: Database; trustProxy: boolean }) {
  const clientIp = (c: Context<AppEnv>) => {
    const forwarded = trustProxy ? c.req.header('x-forwarded-for')?.split(',')[0]?.trim() : undefined;
    return forwarded || c.env?.incoming?.socket.remoteAddress || null;
  };
  return {
    /** `uploadId` null: an action about no single upload (a service listing a scope). */
    async record(c: Context<AppEnv>, action: AuditAction, uploadId: string | null, detail: Record<string, unknown> = {}): Promise<void> {
      await db.query(
        `INSERT INTO audit_log (action, user_id, upload_id, ip, user_agent, detail) VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)`,
        [action, c.get('user')?.id ?? null, uploadId, clientIp(c), c.req.header('user-agent')?.slice(0, 300) ?? null, JSON.stringify(detail)],
      );
    },
    /** 429 with Retry-After once `userId` did `actions` `limit` times in the last minute. */
    async limit(userId: string, actions: readonly AuditAction[], limit: number): Promise<void> {
      const rows = await db.query(
        `SELECT count(*) AS n, extract(epoch FROM (min(at) + interval '1 minute' - now())) AS wait FROM (
           SELECT at FROM audit_log WHERE user_id = $1 AND action = ANY($2::text[]) AND at > now() - interval '1 minute'
           ORDER BY at DESC LIMIT $3) recent`,
        [userId, actions, limit],
      );
      if (toNumber(rows[0]?.n ?? 0) >= limit) {
        const wait = Math.max(1, Math.ceil(Number(rows[0]?.wait ?? 60)));
        throw new HaulError('RATE_LIMITED', `At most ${limit} per minute; retry in ${wait} s`, { headers: { 'Retry-After': String(wait) } });
      }
    },
  };
}

export type Audit = ReturnType<typeof createAudit>;
