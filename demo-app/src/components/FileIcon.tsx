import type { FileKind } from '../lib/file-kind.js';

/** A document shape with the file's extension, coloured by kind (the colour is decoration; the label is text). */
export function FileIcon({ kind, extension }: { kind: FileKind; extension: string }) {
  const label = (extension || kind).slice(0, 5).toUpperCase();
  return (
    <svg className={`file-icon file-icon--${kind}`} viewBox="0 0 48 60" role="img" aria-label={`${label} file`}>
      <path className="file-icon-sheet" d="M6 2h26l12 12v40a4 4 0 0 1-4 4H6a4 4 0 0 1-4-4V6a4 4 0 0 1 4-4z" />
      <path className="file-icon-fold" d="M32 2v8a4 4 0 0 0 4 4h8" />
      <rect className="file-icon-band" x="0" y="32" width="40" height="15" rx="3" />
      <text x="20" y="43" textAnchor="middle" className="file-icon-label">
        {label}
      </text>
    </svg>
  );
}
