import { createHaulClient, devTokenProvider, type BrowserUploadInput, type GetToken, type HaulClient } from '@haul/client';
import { conversationScope } from './conversations.js';
import type { Credentials } from './credentials.js';

export type Client = HaulClient<BrowserUploadInput>;

/** Where a Haul server takes tus uploads unless /api/config says otherwise. */
const DEFAULT_TUS_ENDPOINT = '/files/';

/** A client without a token: enough for GET /api/config, which is public. */
export function anonymousClient(): Client {
  return createHaulClient({ endpoint: DEFAULT_TUS_ENDPOINT, getToken: () => null });
}

/**
 * The signed-in client. Dev mode asks the server for a token naming the user's conversations (and
 * a fresh one before it expires or after a 401); jwt mode can only hand back the token it was given.
 */
export function sessionClient(tusEndpoint: string, credentials: Credentials): Client {
  const getToken: GetToken =
    credentials.mode === 'dev'
      ? devTokenProvider({ user: credentials.user, scopes: credentials.conversations.map(conversationScope) })
      : () => credentials.token;
  return createHaulClient({ endpoint: tusEndpoint, getToken });
}

/** The upload id is the last segment of its tus URL (README, "Using it"). */
export function uploadIdFromUrl(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  const path = url.split(/[?#]/)[0] ?? '';
  const last = path.replace(/\/+$/, '').split('/').pop();
  return last ? decodeURIComponent(last) : undefined;
}
