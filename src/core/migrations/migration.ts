/** One numbered migration, split into single statements (see scripts/compile-migrations.mjs). */
export interface Migration {
  /** The number in the file name: 1 for `0001_create_tasks.sql`. */
  readonly id: number;
  /** The rest of the file name: `create_tasks`. */
  readonly name: string;
  /** Statements with the `:"schema"` placeholder still in place. */
  readonly statements: readonly string[];
}
