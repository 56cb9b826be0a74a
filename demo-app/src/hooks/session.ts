import { createContext, useContext } from 'react';
import type { ServerConfigJson } from '@haul/client';
import type { Credentials } from '../lib/credentials.js';
import type { Client } from '../lib/haul.js';

/** The signed-in session: everything below the sign-in form works with this. */
export interface Session {
  client: Client;
  config: ServerConfigJson;
  credentials: Credentials;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession() outside <SessionContext>');
  return session;
}
