import { useEffect, useRef } from 'react';

/** An inline "are you sure" with the consequences spelt out; Escape or Cancel backs out. */
export function DeleteConfirm({ name, unfinished, busy, onConfirm, onCancel }: {
  name: string;
  unfinished: boolean;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <div className="confirm" role="group" aria-label={`Delete ${name}?`} onKeyDown={(event) => event.key === 'Escape' && onCancel()}>
      <p>
        Delete <strong>{name}</strong>?{' '}
        {unfinished ? 'The upload stops and what was sent is removed.' : 'The file, its previews and its share links are removed for good.'}
      </p>
      <div className="confirm-actions">
        <button type="button" className="button button--danger button--small" data-testid="confirm-delete" disabled={busy} onClick={onConfirm}>
          {busy ? 'Deleting…' : 'Delete'}
        </button>
        <button type="button" ref={cancel} className="button button--ghost button--small" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
