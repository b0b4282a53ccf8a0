import pg from 'pg';

// Values must stay exactly as Postgres printed them: the neon() client parses them itself.
const RAW_TEXT: pg.CustomTypesConfig = {
  getTypeParser: () => (value: string) => value,
};

/** One `pg.Pool` per connection string, all ended together. */
export class PoolCache {
  readonly #pools = new Map<string, pg.Pool>();
  readonly #maxPoolSize: number;
  #closed = false;

  constructor(maxPoolSize: number) {
    this.#maxPoolSize = maxPoolSize;
  }

  /**
   * The pool for `connectionString`, created on first use.
   * @throws Error after {@link PoolCache.end}, so no pool outlives the endpoint.
   */
  get(connectionString: string): pg.Pool {
    if (this.#closed) throw new Error('the Neon endpoint is closing');
    let pool = this.#pools.get(connectionString);
    if (pool === undefined) {
      pool = new pg.Pool({ connectionString, max: this.#maxPoolSize, types: RAW_TEXT });
      // An idle connection dropped by the server emits 'error' on the pool; unhandled, that
      // would crash the process. The next query simply opens a new connection.
      pool.on('error', () => undefined);
      this.#pools.set(connectionString, pool);
    }
    return pool;
  }

  /** Ends every pool; waits for statements still running to finish first. */
  async end(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.end()));
  }
}
