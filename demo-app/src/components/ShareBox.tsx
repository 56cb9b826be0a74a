import { useEffect, useId, useRef, useState } from 'react';
import type { LinkJson } from '@haul/client';
import { formatDateTime, formatRelativeTime } from '../lib/format.js';
import { Icon } from './Icon.js';

/** A created share link: selectable, copyable, and honest about when it stops working. */
export function ShareBox({ link, filename, onClose }: { link: LinkJson; filename: string; onClose: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const id = useId();

  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, [link.url]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link.url);
      setCopied('yes');
    } catch {
      // No clipboard permission (or not a secure context): the text is selected for Ctrl+C instead.
      input.current?.select();
      setCopied('failed');
    }
  };

  return (
    <div className="share-box" role="group" aria-labelledby={`${id}-label`}>
      <label id={`${id}-label`} htmlFor={id} className="share-label">
        Share link for {filename}
      </label>
      <input
        id={id}
        ref={input}
        className="share-url"
        data-testid="share-url"
        readOnly
        value={link.url}
        onFocus={(event) => event.currentTarget.select()}
        onKeyDown={(event) => event.key === 'Escape' && onClose()}
      />
      <div className="share-row">
        <button type="button" className="button button--small" onClick={() => void copy()}>
          <Icon name={copied === 'yes' ? 'check' : 'copy'} />
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="button button--ghost button--small" onClick={onClose}>
          Done
        </button>
      </div>
      <p className="hint" aria-live="polite">
        {copied === 'failed' ? 'Could not copy automatically — the link is selected, press Ctrl+C (⌘C). ' : ''}
        Anyone with the link can download it until <time dateTime={link.expiresAt}>{formatDateTime(link.expiresAt)}</time>
        {` (${formatRelativeTime(link.expiresAt)}). Deleting the file revokes it.`}
      </p>
    </div>
  );
}
