const MAX_RECORDS = 10_000;

/**
 * The in-memory half of a store's record cache (settled-records.ts for disk, s3-settled-info.ts
 * for S3): records whose upload length is settled, which nothing changes any more, on any
 * instance. Bounded, least recently used first; every record goes in and comes out as a copy, as
 * the stores change what they read before writing it back.
 */
export class SettledCache<T> {
  readonly #entries = new Map<string, T>();

  constructor(
    private readonly copy: (value: T) => T,
    private readonly max = MAX_RECORDS,
  ) {}

  get(key: string): T | undefined {
    const known = this.#entries.get(key);
    if (known === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, known);
    return this.copy(known);
  }

  remember(key: string, value: T): void {
    this.#entries.delete(key);
    this.#entries.set(key, this.copy(value));
    if (this.#entries.size > this.max) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** Drops the copy of `key`; true if there was one. */
  forget(key: string): boolean {
    return this.#entries.delete(key);
  }
}
