import { useNotices } from '../hooks/notices.js';
import { Icon } from './Icon.js';

/** Problems that need the visitor: what went wrong and what to do, until dismissed. */
export function ErrorBanner({ onSignIn }: { onSignIn: () => void }) {
  const { notices, dismiss } = useNotices();
  return (
    <div className="banner-stack" role="alert" aria-live="assertive">
      {notices.map((notice) => (
        <div key={notice.id} className="banner" data-testid="error-banner">
          <Icon name="alert" className="banner-icon" />
          <p className="banner-text">{notice.message}</p>
          <div className="banner-actions">
            {notice.signIn && (
              <button type="button" className="button button--primary button--small" onClick={onSignIn}>
                Sign in again
              </button>
            )}
            <button type="button" className="icon-button" aria-label="Dismiss this message" onClick={() => dismiss(notice.id)}>
              <Icon name="close" />
            </button>
          </div>
        </div>
      ))}
    </div>
  );
}
