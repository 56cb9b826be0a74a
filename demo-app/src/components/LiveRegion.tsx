import { useNotices } from '../hooks/notices.js';

/** Status changes read out by screen readers; always in the page, so announcements are not lost. */
export function LiveRegion() {
  const { announcement } = useNotices();
  return (
    <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="live-region">
      {announcement}
    </div>
  );
}
