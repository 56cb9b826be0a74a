import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { deriveKey, type KeySlot, saltOf } from '../lib/e2e-keys.js';

/** The page's end-to-end keys by slot (see lib/e2e-keys.ts); never stored, gone on reload. */
export interface E2EKeys {
  keyFor(slot: KeySlot): CryptoKey | undefined;
  /** Derives and keeps the key of `slot` from `passphrase`. */
  setPassphrase(slot: KeySlot, passphrase: string): Promise<void>;
}

const E2EKeysContext = createContext<E2EKeys | null>(null);

export function E2EKeysProvider({ user, children }: { user: string; children: ReactNode }) {
  const [keys, setKeys] = useState<ReadonlyMap<KeySlot, CryptoKey>>(new Map());
  const setPassphrase = useCallback(
    async (slot: KeySlot, passphrase: string) => {
      const key = await deriveKey(passphrase, saltOf(slot, user));
      setKeys((current) => new Map(current).set(slot, key));
    },
    [user],
  );
  const value = useMemo<E2EKeys>(() => ({ keyFor: (slot) => keys.get(slot), setPassphrase }), [keys, setPassphrase]);
  return <E2EKeysContext.Provider value={value}>{children}</E2EKeysContext.Provider>;
}

export function useE2EKeys(): E2EKeys {
  const keys = useContext(E2EKeysContext);
  if (!keys) throw new Error('useE2EKeys() outside <E2EKeysProvider>');
  return keys;
}
