import { ConfigError } from './errors.ts';

/** The schema used when none is configured. */
export const DEFAULT_SCHEMA = 'task_worker';

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Returns the schema name as a quoted SQL identifier. Only lower-case identifiers are
 * accepted: the name is spliced into SQL text, so it is checked rather than escaped.
 * @throws ConfigError for any other name.
 */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new ConfigError(
      `Invalid schema name ${JSON.stringify(schema)}: use 1-63 lower-case letters, digits and underscores.`,
    );
  }
  return `"${schema}"`;
}
