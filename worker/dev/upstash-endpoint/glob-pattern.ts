/**
 * Redis glob patterns (PSUBSCRIBE, PUBSUB CHANNELS) for the in-memory backend.
 * @module
 */

/**
 * A RegExp matching what Redis's `stringmatchlen` matches: `*`, `?`, `[abc]`, `[^a]`,
 * `[a-z]` and `\` escapes.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*') source += '[\\s\\S]*';
    else if (char === '?') source += '[\\s\\S]';
    else if (char === '\\' && i + 1 < pattern.length) source += escape(pattern[++i]!);
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        source += escape(char);
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      let set = '';
      for (let j = 0; j < body.length; j++) {
        if (body[j] === '\\' && j + 1 < body.length) set += escape(body[++j]!);
        else if (body[j + 1] === '-' && j + 2 < body.length) {
          set += `${escape(body[j]!)}-${escape(body[j + 2]!)}`;
          j += 2;
        } else set += escape(body[j]!);
      }
      source += `[${negate ? '^' : ''}${set}]`;
      i = end;
    } else source += escape(char);
  }
  return new RegExp(`^${source}$`);
}

function escape(char: string): string {
  return char.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
