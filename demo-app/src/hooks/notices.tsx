import { createContext, type ReactNode, useCallback, useContext, useMemo, useRef, useState } from 'react';
import type { Problem } from '../lib/problems.js';

export interface Notice extends Problem {
  id: number;
}

interface Notices {
  /** Read out by screen readers (polite): status changes, finished actions. */
  announce(message: string): void;
  /** A problem for the error banner; the same message twice is shown once. */
  report(problem: Problem): void;
  dismiss(id: number): void;
  notices: readonly Notice[];
  announcement: string;
}

const NoticesContext = createContext<Notices | null>(null);

const MAX_NOTICES = 3;

export function NoticesProvider({ children }: { children: ReactNode }) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const [announcement, setAnnouncement] = useState('');
  const nextId = useRef(1);

  const announce = useCallback((message: string) => {
    // Cleared first so the same sentence twice is still read out.
    setAnnouncement('');
    requestAnimationFrame(() => setAnnouncement(message));
  }, []);

  const report = useCallback((problem: Problem) => {
    setNotices((current) => {
      const others = current.filter((notice) => notice.message !== problem.message);
      return [...others, { ...problem, id: nextId.current++ }].slice(-MAX_NOTICES);
    });
  }, []);

  const dismiss = useCallback((id: number) => setNotices((current) => current.filter((notice) => notice.id !== id)), []);

  const value = useMemo(() => ({ announce, report, dismiss, notices, announcement }), [announce, report, dismiss, notices, announcement]);
  return <NoticesContext.Provider value={value}>{children}</NoticesContext.Provider>;
}

export function useNotices(): Notices {
  const notices = useContext(NoticesContext);
  if (!notices) throw new Error('useNotices() outside <NoticesProvider>');
  return notices;
}
