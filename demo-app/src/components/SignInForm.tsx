import { type FormEvent, useId, useState } from 'react';
import { isHaulError, type ServerConfigJson } from '@haul/client';
import { parseConversations } from '../lib/conversations.js';
import { type Credentials, DEV_USER_PATTERN, jwtConversations, jwtSubject } from '../lib/credentials.js';
import { formatBytes } from '../lib/format.js';
import { describeError } from '../lib/problems.js';
import { Icon, type IconName } from './Icon.js';

const FEATURES: Array<{ icon: IconName; title: string; text: string }> = [
  { icon: 'pause', title: 'Pause, reload, carry on', text: 'Stop an upload, close the tab, add the same file again: it continues where it stopped.' },
  { icon: 'shield', title: 'Checked on the server', text: 'Every file is identified by its content and scanned; the verdict shows up live.' },
  { icon: 'eye', title: 'Previews and sharing', text: 'Thumbnails, an image viewer, PDF preview, downloads and expiring share links.' },
];

/** Dev mode: any user name gets a token from the server. JWT mode: paste a token from your identity provider. */
export function SignInForm({ config, onSignIn }: { config: ServerConfigJson; onSignIn: (credentials: Credentials) => Promise<void> }) {
  const dev = config.authMode === 'dev';
  const [value, setValue] = useState('');
  const [conversationsText, setConversationsText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();
  const conversationsId = useId();
  const conversationsHintId = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const text = value.trim();
    if (dev && !DEV_USER_PATTERN.test(text)) {
      setError('Use 1–64 letters, digits or . _ @ + - (no spaces).');
      return;
    }
    if (!dev && text.split('.').length !== 3) {
      setError('This does not look like a JWT (three dot-separated parts).');
      return;
    }
    const parsed = parseConversations(conversationsText);
    if (dev && 'problem' in parsed) {
      setError(parsed.problem);
      return;
    }
    const conversations = 'conversations' in parsed ? parsed.conversations : [];
    setBusy(true);
    setError(null);
    try {
      await onSignIn(
        dev
          ? { mode: 'dev', user: text, conversations }
          : { mode: 'jwt', token: text, user: jwtSubject(text) ?? 'token user', conversations: jwtConversations(text) },
      );
    } catch (caught) {
      const refused = isHaulError(caught) && (caught.code === 'AUTH_INVALID' || caught.code === 'AUTH_REQUIRED');
      setError(refused ? `The server refused this ${dev ? 'sign-in' : 'token'}: ${caught.message}.` : describeError(caught, { action: 'sign in' }).message);
      setBusy(false);
    }
  };

  return (
    <div className="welcome">
      <section className="welcome-intro" aria-labelledby="welcome-heading">
        <h1 id="welcome-heading">Uploads that survive bad networks</h1>
        <p className="lead">
          Haul is a <a href="https://tus.io/protocols/resumable-upload">tus</a> upload server. Sign in, drop a few files, and try to break it:
          pause, throttle, reload.
        </p>
        <ul className="feature-list">
          {FEATURES.map((feature) => (
            <li key={feature.title}>
              <Icon name={feature.icon} className="feature-icon" />
              <div>
                <strong>{feature.title}</strong>
                <span>{feature.text}</span>
              </div>
            </li>
          ))}
        </ul>
        <p className="muted small">
          This server accepts {config.allowedTypes.categories.join(', ')} — up to {formatBytes(config.maxUploadSize)} per file.
        </p>
      </section>

      <form className="panel signin" data-testid="signin-form" onSubmit={submit} noValidate aria-labelledby="signin-heading">
        <h2 id="signin-heading">Sign in</h2>
        <label htmlFor={inputId}>{dev ? 'Your name' : 'Bearer token (JWT)'}</label>
        {dev ? (
          <input
            id={inputId}
            data-testid="signin-user"
            name="user"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            maxLength={64}
            placeholder="alice"
            value={value}
            onChange={(event) => setValue(event.target.value)}
            aria-describedby={error ? `${errorId} ${hintId}` : hintId}
            aria-invalid={error ? true : undefined}
            required
          />
        ) : (
          <textarea
            id={inputId}
            data-testid="signin-user"
            name="token"
            rows={4}
            spellCheck={false}
            value={value}
            onChange={(event) => setValue(event.target.value)}
            aria-describedby={error ? `${errorId} ${hintId}` : hintId}
            aria-invalid={error ? true : undefined}
            required
          />
        )}
        {error && (
          <p id={errorId} className="field-error" role="alert">
            {error}
          </p>
        )}
        <p id={hintId} className="hint">
          {dev
            ? 'Development mode: the server gives any name a token. Your own uploads are visible to you only.'
            : 'The server verifies tokens with its JWT settings. The token stays in this tab only.'}
        </p>
        {dev && (
          <>
            <label htmlFor={conversationsId}>Your conversations (optional)</label>
            <input
              id={conversationsId}
              data-testid="signin-conversations"
              name="conversations"
              autoCapitalize="none"
              spellCheck={false}
              placeholder="team, random"
              value={conversationsText}
              onChange={(event) => setConversationsText(event.target.value)}
              aria-describedby={conversationsHintId}
            />
            <p id={conversationsHintId} className="hint">
              Files shared in a conversation are seen live by all of its members — sign in as someone else in another window to try.
            </p>
          </>
        )}
        <button type="submit" className="button button--primary button--wide" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
