// Splits a SQL script into single statements. Neon's HTTP endpoint (like any extended-protocol
// query) runs exactly one statement per query, so migrations are stored pre-split. Knows
// enough SQL lexing for migrations: quotes, quoted identifiers, dollar quotes and comments.
// Plain JavaScript so it runs on any Node during `npm ci` (prepare) as well as in tests.

/**
 * @param {string} script
 * @returns {string[]} statements without their trailing `;`, comments kept inside statements,
 *   comment-only chunks dropped
 */
export function splitSql(script) {
  const statements = [];
  let current = '';
  let i = 0;
  const push = () => {
    const text = current.trim();
    if (text && stripComments(text).trim()) statements.push(text);
    current = '';
  };
  while (i < script.length) {
    const ch = script[i];
    const next = script[i + 1];
    if (ch === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      const stop = end === -1 ? script.length : end;
      current += script.slice(i, stop);
      i = stop;
    } else if (ch === '/' && next === '*') {
      const end = script.indexOf('*/', i + 2);
      if (end === -1) throw new Error('unterminated /* comment in SQL');
      current += script.slice(i, end + 2);
      i = end + 2;
    } else if (ch === "'" || ch === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= script.length) throw new Error(`unterminated ${ch} quote in SQL`);
        if (script[j] === ch) {
          if (script[j + 1] === ch) j += 2;
          else break;
        } else j++;
      }
      current += script.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(script.slice(i))?.[0];
      if (tag) {
        const end = script.indexOf(tag, i + tag.length);
        if (end === -1) throw new Error(`unterminated ${tag} quote in SQL`);
        current += script.slice(i, end + tag.length);
        i = end + tag.length;
      } else {
        current += ch;
        i++;
      }
    } else if (ch === ';') {
      push();
      i++;
    } else {
      current += ch;
      i++;
    }
  }
  push();
  return statements;
}

function stripComments(text) {
  return text.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}
