import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStorageKey } from '../auth/user.js';
import { loadConfig } from '../config.js';
import { createHaulServer, type HaulServer } from '../haul-server.js';
import { silentLogger } from '../logger.js';
import { newUploadId } from '../uploads/upload-id.js';

/**
 * The OpenAPI document against the app itself: every JSON route of the Hono app is in it, every
 * $ref resolves, and real responses (through app.request, one library instance on PGlite) match
 * the schema the document gives for their status.
 */
// `any`: this test walks an untyped JSON document.
type Json = Record<string, any>;

let haul: HaulServer;
let dataDir: string;
let doc: Json;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-openapi-'));
  haul = await createHaulServer(loadConfig({ DATA_DIR: dataDir, WORKER: 'off', SCAN_MODE: 'off', DEMO_DIR: '' }), { logger: silentLogger });
  for (const [user, scopes] of [['alice', ['conv:1', 'conv:2']], ['bob', []]] as const) {
    const response = await haul.app.request('/api/dev/token', { method: 'POST', body: JSON.stringify({ user, scopes }) });
    tokens[user] = ((await response.json()) as { token: string }).token;
  }
  doc = (await (await haul.app.request('/api/openapi.json')).json()) as Json;
}, 60_000);

afterAll(async () => {
  await haul?.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

const ajv = new Ajv2020({ strict: false, allErrors: true });

/** The JSON schema the document gives `method path` answering `status`, or undefined for a non-JSON answer. */
function responseSchema(method: string, openapiPath: string, status: number): Json | undefined {
  const operation = doc.paths[openapiPath]?.[method];
  expect(operation, `${method} ${openapiPath} is documented`).toBeDefined();
  const response = operation.responses[String(status)] ?? operation.responses.default;
  expect(response, `${method} ${openapiPath} documents ${status}`).toBeDefined();
  return response.content?.['application/json']?.schema;
}

async function expectDocumented(method: string, openapiPath: string, response: Response) {
  const schema = responseSchema(method, openapiPath, response.status);
  const text = await response.text();
  if (!schema) return;
  const validate = ajv.compile({ ...schema, components: doc.components });
  const body: unknown = JSON.parse(text);
  expect(validate(body) ? [] : validate.errors, `${method} ${openapiPath} ${response.status}: ${text.slice(0, 300)}`).toEqual([]);
}

const as = (user: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...init.headers, Authorization: `Bearer ${tokens[user]}` } });

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 whose every $ref resolves and every schema compiles (JSON Schema 2020-12)', () => {
    expect(doc.openapi).toBe('3.1.0');
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) {
      const name = /#\/components\/schemas\/([^"]+)"/.exec(ref)?.[1];
      expect(name && doc.components.schemas[name], ref).toBeTruthy();
    }
    for (const [name, schema] of Object.entries(doc.components.schemas as Json)) {
      expect(() => ajv.compile({ ...schema, components: doc.components }), name).not.toThrow();
    }
  });

  it('lists every JSON route of the app', () => {
    const routes = haul.app.routes
      .filter((r) => r.method !== 'ALL' && (r.path.startsWith('/api/') || r.path === '/healthz' || r.path === '/readyz' || r.path === '/metrics'))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z]+)(\{[^}]*\})?/g, '{$1}')}`);
    expect(routes.length).toBeGreaterThan(12);
    const documented = Object.entries(doc.paths as Json).flatMap(([p, item]) =>
      Object.keys(item as Json).filter((k) => ['get', 'post', 'patch', 'put', 'delete'].includes(k)).map((m) => `${m} ${p}`));
    expect([...new Set(routes)].sort()).toEqual(documented.sort());
  });

  it('is served as a readable page that loads nothing from anywhere', async () => {
    const page = await haul.app.request('/api/docs');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    const html = await page.text();
    expect(html).toContain('<code>/api/uploads/{id}</code>');
    expect(html).not.toMatch(/<script|src=|@import/);
    expect(html).toContain('id="schema-WebhookEvent"');
  });
});

describe('real responses match it', () => {
  it('public routes, tokens, errors', async () => {
    await expectDocumented('get', '/api/config', await haul.app.request('/api/config'));
    await expectDocumented('post', '/api/dev/token', await haul.app.request('/api/dev/token', { method: 'POST', body: '{"user":"x"}' }));
    await expectDocumented('post', '/api/dev/token', await haul.app.request('/api/dev/token', { method: 'POST', body: '{"user":"a b"}' }));
    await expectDocumented('get', '/healthz', await haul.app.request('/healthz'));
    await expectDocumented('get', '/readyz', await haul.app.request('/readyz'));
    await expectDocumented('get', '/api/uploads', await haul.app.request('/api/uploads'));
    await expectDocumented('get', '/api/uploads', await haul.app.request('/api/uploads?scope=conv:9', as('bob')));
    await expectDocumented('get', '/api/usage', await haul.app.request('/api/usage', as('bob')));
    await expectDocumented('get', '/api/usage', await haul.app.request('/api/usage'));
  });

  it('uploads: list, get, move, link, delete', async () => {
    const id = newUploadId();
    const key = `${userStorageKey('alice')}/${id}`;
    await fs.mkdir(path.join(dataDir, 'files', userStorageKey('alice')), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'files', key), 'hello\n');
    await haul.db.query(
      `INSERT INTO uploads (id, owner_id, storage_key, filename, filetype, metadata, size, upload_offset, status, scope, detected_type, finished_at)
       VALUES ($1, 'alice', $2, 'a.txt', 'text/plain', '{}'::jsonb, 6, 6, 'ready', 'conv:1', 'text/plain', now())`,
      [id, key],
    );
    await expectDocumented('get', '/api/uploads', await haul.app.request('/api/uploads?scope=conv:1&limit=1', as('alice')));
    await expectDocumented('get', '/api/uploads/{id}', await haul.app.request(`/api/uploads/${id}`, as('alice')));
    await expectDocumented('get', '/api/uploads/{id}', await haul.app.request(`/api/uploads/${id}`, as('bob')));
    const patch = (scope: unknown, user = 'alice') => as(user, { method: 'PATCH', body: JSON.stringify({ scope }), headers: { 'Content-Type': 'application/json' } });
    await expectDocumented('patch', '/api/uploads/{id}', await haul.app.request(`/api/uploads/${id}`, patch('conv:2')));
    await expectDocumented('patch', '/api/uploads/{id}', await haul.app.request(`/api/uploads/${id}`, patch('conv:3')));
    await expectDocumented('post', '/api/uploads/{id}/links', await haul.app.request(`/api/uploads/${id}/links`, as('alice', { method: 'POST' })));
    await expectDocumented('get', '/api/uploads/{id}/content', await haul.app.request(`/api/uploads/${id}/content`, as('alice')));
    await expectDocumented('delete', '/api/uploads/{id}', await haul.app.request(`/api/uploads/${id}`, as('alice', { method: 'DELETE' })));
    await expectDocumented('delete', '/api/uploads/{id}', await haul.app.request(`/api/uploads/${id}`, as('alice', { method: 'DELETE' })));
  });
});
