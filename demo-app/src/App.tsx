import { lazy, Suspense, useCallback, useMemo, useState } from 'react';
import { ErrorBanner } from './components/ErrorBanner.js';
import { Header } from './components/Header.js';
import { LiveRegion } from './components/LiveRegion.js';
import { ServerUnavailable } from './components/ServerUnavailable.js';
import { SignInForm } from './components/SignInForm.js';
import { NoticesProvider } from './hooks/notices.js';
import { type Session, SessionContext } from './hooks/session.js';
import { useServerConfig } from './hooks/use-server-config.js';
import { clearCredentials, type Credentials, loadCredentials, saveCredentials } from './lib/credentials.js';
import { type Client, sessionClient } from './lib/haul.js';

// The uploader (Uppy) is most of the code: the sign-in page does not wait for it.
const Workspace = lazy(() => import('./components/Workspace.js').then((module) => ({ default: module.Workspace })));

interface SignedIn {
  credentials: Credentials;
  client: Client;
}

/**
 * Signing out reloads the page instead of tearing the uploader down: Uppy's `destroy()` cancels
 * unfinished uploads *on the server*, while a reload leaves them resumable — exactly like
 * closing the tab — and drops every token, blob URL and cached record at once.
 */
function signOut(): void {
  clearCredentials();
  window.location.reload();
}

export function App() {
  const server = useServerConfig();
  const config = server.phase === 'ready' ? server.config : undefined;
  const [stored] = useState(loadCredentials);
  const [signedIn, setSignedIn] = useState<SignedIn | null>(null);
  // A visitor who was signed in before a reload continues as that user (if the server still
  // signs in that way).
  const restored = useMemo(
    () => (config && stored?.mode === config.authMode ? { credentials: stored, client: sessionClient(config.tusEndpoint, stored) } : null),
    [config, stored],
  );
  const current = signedIn ?? restored;

  const signIn = useCallback(
    async (credentials: Credentials) => {
      if (!config) return;
      const client = sessionClient(config.tusEndpoint, credentials);
      await client.list({ limit: 1 }); // proves the token works before the page changes
      saveCredentials(credentials);
      setSignedIn({ credentials, client });
    },
    [config],
  );

  const session: Session | null = useMemo(
    () => (config && current ? { config, client: current.client, credentials: current.credentials, signOut } : null),
    [config, current],
  );

  return (
    <NoticesProvider>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header user={session?.credentials.user} onSignOut={signOut} />
      <ErrorBanner onSignIn={signOut} />
      <main id="main" tabIndex={-1}>
        {server.phase === 'loading' && (
          <p className="page-status" role="status">
            Connecting to the Haul server…
          </p>
        )}
        {server.phase === 'failed' && <ServerUnavailable message={server.message} onRetry={server.retry} />}
        {config && !session && <SignInForm config={config} onSignIn={signIn} />}
        {session && (
          <SessionContext.Provider value={session}>
            <Suspense
              fallback={
                <p className="page-status" role="status">
                  Loading the uploader…
                </p>
              }
            >
              <Workspace />
            </Suspense>
          </SessionContext.Provider>
        )}
      </main>
      <LiveRegion />
    </NoticesProvider>
  );
}
