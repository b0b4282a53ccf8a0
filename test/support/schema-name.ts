/** A fresh schema name with `prefix`: `t_<prefix>_<random>`. */
export function uniqueSchemaName(prefix: string): string {
  return `t_${prefix}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
}
