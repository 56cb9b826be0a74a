/**
 * Whether the device is online, and news when that changes. While offline, uploads pause
 * instead of burning their retries; they continue when the connection is back. Browsers get
 * this from `online`/`offline` events by default; in React Native, wrap NetInfo.
 *
 * @example
 * ```ts
 * import NetInfo from '@react-native-community/netinfo';
 * import type { Connectivity } from '@haul/client';
 * let online = true;
 * const connectivity: Connectivity = {
 *   isOnline: () => online,
 *   subscribe: (listener) => NetInfo.addEventListener((state) => listener((online = state.isConnected !== false))),
 * };
 * ```
 */
export interface Connectivity {
  isOnline(): boolean;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (online: boolean) => void): () => void;
}

/** Always online (Node, or when no signal is available). */
export const alwaysOnline: Connectivity = {
  isOnline: () => true,
  subscribe: () => () => {},
};

type Listen = (type: string, listener: () => void) => void;

/** `navigator.onLine` and the window's `online`/`offline` events, where they exist. */
export function browserConnectivity(): Connectivity {
  const scope = globalThis as { navigator?: { onLine?: boolean }; addEventListener?: Listen; removeEventListener?: Listen };
  const { addEventListener: listen, removeEventListener: unlisten } = scope;
  if (typeof listen !== 'function' || typeof unlisten !== 'function' || typeof scope.navigator?.onLine !== 'boolean') return alwaysOnline;
  return {
    isOnline: () => scope.navigator?.onLine !== false,
    subscribe(listener) {
      const online = () => listener(true);
      const offline = () => listener(false);
      listen.call(scope, 'online', online);
      listen.call(scope, 'offline', offline);
      return () => {
        unlisten.call(scope, 'online', online);
        unlisten.call(scope, 'offline', offline);
      };
    },
  };
}

/** Resolves at once when online, else when the connection is back; rejects when `signal` aborts. */
export function untilOnline(connectivity: Connectivity, signal?: AbortSignal): Promise<void> {
  if (connectivity.isOnline()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(signal?.reason);
    };
    const unsubscribe = connectivity.subscribe((online) => {
      if (!online) return;
      done();
      resolve();
    });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
