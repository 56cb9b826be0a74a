/**
 * The upload status machine: every status an upload can be in, and every change allowed. The
 * server performs changes only through this table (one repository function, which also writes
 * the change to `upload_events`); the database's CHECK constraint is tested against it.
 *
 *   uploading ──► received ──► processing ──► ready | rejected | infected | failed ──► expired
 *       │ ╲ ╲─► rejected        (its first bytes show a forbidden or spoofed file: refused at once)   (retention)
 *       │ ╲
 *       │  ╲─► part_received ──► concatenated      (tus Concatenation: a finished partial, then used)
 *       │                   ╲──► expired
 *       └──► expired     (never finished in time)
 *   assembling ──► received | expired               (a final upload, while its partials are joined)
 *        └──► terminated     (cancelled while it still waited for unfinished partials)
 *
 *   every status a client can still address ──► terminated   (tus DELETE, or deleted while
 *   unfinished): uploading, part_received, received, processing and the processing outcomes.
 */
export const UPLOAD_STATUSES = [
  'uploading', 'part_received', 'assembling', 'received', 'processing',
  'ready', 'rejected', 'infected', 'failed', 'concatenated', 'expired', 'terminated',
] as const;

export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

/** Where an upload starts: created by tus (`uploading`) or as a final upload (`assembling`). */
export const INITIAL_STATUSES = ['uploading', 'assembling'] as const satisfies readonly UploadStatus[];

export const UPLOAD_TRANSITIONS: { readonly [From in UploadStatus]: readonly UploadStatus[] } = {
  uploading: ['received', 'part_received', 'rejected', 'expired', 'terminated'],
  part_received: ['concatenated', 'expired', 'terminated'],
  // Terminated only while it waits for partials still uploading (tus concatenation-unfinished):
  // once its assembly began it cannot be addressed until it is assembled.
  assembling: ['received', 'expired', 'terminated'],
  received: ['processing', 'terminated'],
  processing: ['ready', 'rejected', 'infected', 'failed', 'terminated'],
  // expired: removed by retention (RETENTION_SECONDS and the shorter periods of the others).
  ready: ['expired', 'terminated'],
  rejected: ['expired', 'terminated'],
  infected: ['expired', 'terminated'],
  // processing: only by an operator's `npm run requeue-failed` (files failed by an outage).
  failed: ['processing', 'expired', 'terminated'],
  concatenated: [],
  expired: [],
  terminated: [],
};

/** Whether `from → to` is a status change the machine allows. */
export const canTransition = (from: UploadStatus, to: UploadStatus): boolean => UPLOAD_TRANSITIONS[from].includes(to);

/** The statuses `to` can be reached from (for a guarded `UPDATE … WHERE status = ANY(…)`). */
export const statusesLeadingTo = (to: UploadStatus): UploadStatus[] =>
  UPLOAD_STATUSES.filter((from) => canTransition(from, to));

/**
 * Statuses after which nothing changes by itself any more (only the owner's termination, or
 * retention's expiry, can follow): a client watching an upload (SSE, `waitForReady`) stops at one of these.
 */
export const TERMINAL_STATUSES = ['ready', 'rejected', 'infected', 'failed', 'concatenated', 'expired', 'terminated'] as const satisfies readonly UploadStatus[];

/** What processing concludes about a received file: the terminal statuses it can set. */
export const PROCESSING_OUTCOMES = ['ready', 'rejected', 'infected', 'failed'] as const satisfies readonly UploadStatus[];
export type ProcessingOutcomeStatus = (typeof PROCESSING_OUTCOMES)[number];

export const isTerminalStatus = (status: UploadStatus): boolean => (TERMINAL_STATUSES as readonly string[]).includes(status);
