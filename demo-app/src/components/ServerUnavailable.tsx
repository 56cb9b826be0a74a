export function ServerUnavailable({ message, onRetry }: { message: string; onRetry: () => void }) {
  return (
    <section className="panel narrow-panel" aria-labelledby="server-down-heading">
      <h1 id="server-down-heading">The upload server is not answering</h1>
      <p data-testid="error-banner" role="alert">
        {message}
      </p>
      <p className="muted">Start it with <code>npm start</code> in the repository, then try again.</p>
      <button type="button" className="button button--primary" onClick={onRetry}>
        Try again
      </button>
    </section>
  );
}
