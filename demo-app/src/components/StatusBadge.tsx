import type { UploadStatus } from '@haul/client';
import { statusWord } from '../lib/upload-status.js';

/** The status as a word (colour and icon only repeat it), e.g. "ready", "rejected", "processing". */
export function StatusBadge({ status }: { status: UploadStatus }) {
  const word = statusWord(status);
  return (
    <span className={`badge badge--${word}`}>
      <span className="badge-dot" aria-hidden="true" />
      <span className="visually-hidden">Status: </span>
      <span data-testid="status-badge">{word}</span>
    </span>
  );
}
