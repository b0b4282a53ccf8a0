/** One numbered migration, split into single statements (see scripts/compile-migrations.mjs). */
export interface Migration {
  /** The number in the file name: 1 for `0001_create_tasks.sql`. */
  readonly id: number;
  /** The rest of the file name: `create_tasks`. */
  readonly name: string;
  /** Statements with the `:"schema"` placeholder still in place. */
  readonly statements: readonly string[];
  /**
   * False (marker `-- migration: no-transaction`): the statements run one by one outside a
   * transaction, e.g. `create index concurrently`. They must be idempotent (`if not exists`):
   * a run that fails or dies part-way is retried from the first statement. Default: true, the
   * whole migration in one transaction.
   */
  readonly transaction?: boolean;
  /**
   * True (marker `-- migration: breaking`): workers of a version that does not know this
   * migration refuse to start on a schema that has it (it drops or changes what they use).
   * Default: false, an additive change older workers keep running against.
   */
  readonly breaking?: boolean;
}

/** What the `migrations` table says about one applied migration. */
export interface AppliedMigration {
  readonly id: number;
  readonly name: string;
  readonly breaking: boolean;
}
