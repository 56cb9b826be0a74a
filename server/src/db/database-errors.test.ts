import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { toHaulError } from '../tus/tus-errors.js';
import { databaseUnavailable, isDatabaseUnavailable } from './database-errors.js';

/** Errors of the kinds postgres.js rejects queries with (tests/database-connections.test.ts meets a real one). */
const serverError = (code: string, message: string) => new postgres.PostgresError({ code, message } as never);
const clientError = (code: string) => Object.assign(new Error(`write ${code} 127.0.0.1:5432`), { code, errno: code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['53300', 'sorry, too many clients already'],
    ['53300', 'too many connections for role "haul"'],
    ['57P03', 'the database system is starting up'],
    ['57P01', 'terminating connection due to administrator command'],
    ['08006', 'connection failure'],
  ])('PostgreSQL %s (%s): unavailable', (code, message) => expect(isDatabaseUnavailable(serverError(code, message))).toBe(true));

  it.each(['CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED'])('postgres.js %s: unavailable', (code) =>
    expect(isDatabaseUnavailable(clientError(code))).toBe(true));

  it.each([
    ['23505', 'duplicate key value violates unique constraint'],
    ['42P01', 'relation "uploads" does not exist'],
    ['57014', 'canceling statement due to statement timeout'],
  ])('PostgreSQL %s (%s): a fault, not an outage', (code, message) => expect(isDatabaseUnavailable(serverError(code, message))).toBe(false));

  it('leaves other errors alone', () => {
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(clientError('ECONNRESET'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});

describe('databaseUnavailable', () => {
  it('is a retryable 503 with Retry-After, on the tus endpoint too', () => {
    const tooMany = serverError('53300', 'sorry, too many clients already');
    for (const error of [databaseUnavailable(tooMany), toHaulError(tooMany)]) {
      expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503, retryable: true, headers: { 'Retry-After': '2' }, cause: tooMany });
    }
    expect(databaseUnavailable(new Error('boom'))).toBeUndefined();
  });
});
