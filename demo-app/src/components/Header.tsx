import { Icon } from './Icon.js';

export function Header({ user, onSignOut }: { user: string | undefined; onSignOut: () => void }) {
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          <Icon name="upload" />
        </span>
        <span className="brand-name">Haul</span>
        <span className="brand-tagline">resumable uploads demo</span>
      </div>
      {user !== undefined && (
        <div className="account">
          <span className="account-user">
            <span className="visually-hidden">Signed in as </span>
            <span data-testid="signed-in-user">{user}</span>
          </span>
          <button type="button" className="button button--ghost button--small" data-testid="signout" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      )}
    </header>
  );
}
