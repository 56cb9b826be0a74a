import { canTransition, UPLOAD_STATUSES, type UploadStatus } from '@haul/api';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Database, type Queryable, toNumber, toNumberOrNull } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open-database.js';
import { silentLogger } from '../logger.js';
import { createStatusChange, type StatusChange, type StatusChangeRequest, type ReachableStatus } from './status-change.js';

/**
 * The migrations on Haul's embedded PostgreSQL in a temporary DATA_DIR: the real schema, its CHECK
 * constraint and its SQL. The first start runs initdb (≈ 2–7 s on a busy machine), hence the long
 * hook timeout.
 */
let db: Database;
let dataDir: string;
beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-status-change-'));
  db = await openDatabase({ databaseUrl: undefined, dataDir }, silentLogger);
  await migrate(db);
}, 60_000);
afterAll(async () => {
  await db?.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});
beforeEach(async () => {
  await db.query('DELETE FROM uploads');
});

let seq = 0;
/** An upload row in `status`, written directly (setting up a state is not a status change). */
async function uploadIn(status: UploadStatus, extra: { expiresAt?: Date | null; concatRole?: 'partial' } = {}): Promise<string> {
  const id = `u${++seq}`;
  const expiresAt = extra.expiresAt === undefined ? new Date(Date.now() + 3600_000) : extra.expiresAt;
  await db.query(
    `INSERT INTO uploads (id, owner_id, storage_key, status, size, expires_at, concat_role) VALUES ($1, 'alice', $1, $2, 100, $3, $4)`,
    [id, status, expiresAt?.toISOString() ?? null, extra.concatRole ?? null],
  );
  return id;
}

const requestFor = (to: ReachableStatus, ids: string[]): StatusChangeRequest => {
  switch (to) {
    case 'received':
    case 'part_received':
      return { ids, to, size: 100 };
    case 'ready':
    case 'rejected':
    case 'infected':
    case 'failed':
      return { ids, to, reason: `${to} because`, findings: { detectedType: 'image/png', sha256: 'ab', scanned: true } };
    default:
      return { ids, to };
  }
};

// bigint columns come back as strings from postgres.js: size and offset as numbers for the assertions.
const rowOf = async (id: string) => {
  const row = (await db.query(`SELECT * FROM uploads WHERE id = $1`, [id]))[0]!;
  return { ...row, size: toNumberOrNull(row.size), upload_offset: toNumber(row.upload_offset) } as Record<string, unknown>;
};
const eventsOf = async (id: string) => db.query(`SELECT status, reason FROM upload_events WHERE upload_id = $1 ORDER BY id`, [id]);
const REACHABLE = UPLOAD_STATUSES.filter((s): s is ReachableStatus => s !== 'uploading' && s !== 'assembling');

describe('the status machine in the database', () => {
  it('the CHECK constraint on uploads.status lists exactly UPLOAD_STATUSES', async () => {
    const [row] = await db.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'uploads'::regclass AND conname = 'uploads_status_check'`,
    );
    const listed = [...row!.def.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...UPLOAD_STATUSES].sort());
  });

  it('performs exactly the changes UPLOAD_TRANSITIONS allows, each with its event, and refuses the rest', async () => {
    const changeStatus = createStatusChange();
    for (const from of UPLOAD_STATUSES) {
      for (const to of REACHABLE) {
        const id = await uploadIn(from);
        const changes = await db.transaction((tx) => changeStatus(tx, requestFor(to, [id])));
        const allowed = canTransition(from, to);
        expect(changes.map((c) => [c.from, c.to]), `${from} → ${to}`).toEqual(allowed ? [[from, to]] : []);
        expect((await rowOf(id)).status, `${from} → ${to}`).toBe(allowed ? to : from);
        expect((await eventsOf(id)).map((e) => e.status)).toEqual(allowed ? [to] : []);
      }
    }
  });

  it('returns the change record and writes its event, reason and columns in one go', async () => {
    const changeStatus = createStatusChange();
    const id = await uploadIn('processing');
    const [change] = await db.transaction((tx) => changeStatus(tx, requestFor('rejected', [id])));
    expect(change).toMatchObject({ uploadId: id, ownerId: 'alice', from: 'processing', to: 'rejected', reason: 'rejected because' });
    expect(change!.at).toBeInstanceOf(Date);
    const [event] = await db.query(`SELECT id, status, reason FROM upload_events WHERE upload_id = $1`, [id]);
    expect(Number(event!.id)).toBe(change!.eventId);
    expect(event).toMatchObject({ status: 'rejected', reason: 'rejected because' });
    expect(await rowOf(id)).toMatchObject({ status_reason: 'rejected because', detected_type: 'image/png', sha256: 'ab', scanned: true });
    expect((await rowOf(id)).processed_at).not.toBeNull();
  });

  it('finishing sets size and offset; a received upload stops expiring, a finished partial does not', async () => {
    const changeStatus = createStatusChange();
    const file = await uploadIn('uploading');
    const partial = await uploadIn('uploading', { concatRole: 'partial' });
    await db.transaction(async (tx) => {
      await changeStatus(tx, { ids: [file], to: 'received', size: 42 });
      await changeStatus(tx, { ids: [partial], to: 'part_received', size: 7 });
    });
    expect(await rowOf(file)).toMatchObject({ size: 42, upload_offset: 42, expires_at: null });
    expect((await rowOf(file)).finished_at).not.toBeNull();
    expect(await rowOf(partial)).toMatchObject({ size: 7, upload_offset: 7 });
    expect((await rowOf(partial)).expires_at).not.toBeNull();
  });

  it('runs every hook inside the transaction, once per change; a failing hook rolls the change back', async () => {
    await db.exec('CREATE TABLE IF NOT EXISTS hook_log (upload_id text, change text)');
    const seen: StatusChange[] = [];
    const outbox = async (tx: Queryable, change: StatusChange) => {
      seen.push(change);
      await tx.query(`INSERT INTO hook_log VALUES ($1, $2)`, [change.uploadId, `${change.from}→${change.to}`]);
    };
    const ids = [await uploadIn('uploading'), await uploadIn('uploading'), await uploadIn('expired')];
    const changes = await db.transaction((tx) => createStatusChange([outbox])(tx, { ids, to: 'terminated' }));
    expect(changes).toHaveLength(2);
    expect(seen).toEqual(changes);
    expect(await db.query(`SELECT upload_id, change FROM hook_log ORDER BY upload_id`)).toEqual(
      ids.slice(0, 2).map((id) => ({ upload_id: id, change: 'uploading→terminated' })).sort((a, b) => a.upload_id.localeCompare(b.upload_id)),
    );
    expect((await rowOf(ids[0]!)).purged_at).not.toBeNull();

    const failing = async () => {
      throw new Error('outbox unavailable');
    };
    const id = await uploadIn('processing');
    await expect(db.transaction((tx) => createStatusChange([failing])(tx, requestFor('ready', [id])))).rejects.toThrow('outbox unavailable');
    expect((await rowOf(id)).status).toBe('processing');
    expect(await eventsOf(id)).toEqual([]);
  });

  it('claims expired uploads in bulk, oldest first, up to the limit, only where expiry is allowed', async () => {
    const changeStatus = createStatusChange();
    const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    const oldest = await uploadIn('uploading', { expiresAt: ago(30) });
    const partial = await uploadIn('part_received', { expiresAt: ago(20), concatRole: 'partial' });
    const assembling = await uploadIn('assembling', { expiresAt: ago(10) });
    const newest = await uploadIn('uploading', { expiresAt: ago(5) });
    const notYet = await uploadIn('uploading');
    const finished = await uploadIn('ready', { expiresAt: ago(60) }); // a finished file expires by retention, not by expires_at

    const first = await db.transaction((tx) => changeStatus(tx, { pastExpiry: { limit: 3 }, to: 'expired' }));
    expect(first.map((c) => [c.uploadId, c.from])).toEqual([[oldest, 'uploading'], [partial, 'part_received'], [assembling, 'assembling']]);
    const rest = await db.transaction((tx) => changeStatus(tx, { pastExpiry: { limit: 3 }, to: 'expired' }));
    expect(rest.map((c) => c.uploadId)).toEqual([newest]);
    expect((await rowOf(notYet)).status).toBe('uploading');
    expect((await rowOf(finished)).status).toBe('ready');
    for (const id of [oldest, partial, assembling, newest]) expect((await eventsOf(id)).map((e) => e.status)).toEqual(['expired']);
  });

  it('changes nothing for an empty id list or unknown ids', async () => {
    const changeStatus = createStatusChange();
    expect(await db.transaction((tx) => changeStatus(tx, { ids: [], to: 'terminated' }))).toEqual([]);
    expect(await db.transaction((tx) => changeStatus(tx, { ids: ['missing'], to: 'terminated' }))).toEqual([]);
  });
});
