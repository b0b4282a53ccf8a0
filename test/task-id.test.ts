import { describe, expect, it } from 'vitest';
import { assertTaskId, isTaskId, newTaskId } from '../src/core/task-id.ts';
import { splitSql } from '../scripts/split-sql.mjs';

describe('task ids', () => {
  it('are 22 URL-safe characters and unique', () => {
    const ids = Array.from({ length: 10_000 }, () => newTaskId());
    for (const id of ids) expect(id).toMatch(/^[-0-9A-Za-z_]{22}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sort by creation time, byte-wise', () => {
    const base = Date.now() + 1000;
    const times = [0, 1, 63, 64, 4096, 1_000_000_000, 1_000_000_001].map((t) => base + t);
    const ids = times.map((t) => newTaskId(t));
    expect([...ids].sort()).toEqual(ids);
  });

  it('are checked before they reach SQL', () => {
    expect(isTaskId(newTaskId())).toBe(true);
    for (const bad of ['', 'short', 'x'.repeat(23), "aaaaaaaaaaaaaaaaaaaa'1", 42, null, undefined]) {
      expect(isTaskId(bad)).toBe(false);
      expect(() => assertTaskId(bad)).toThrow(/Invalid task id/);
    }
  });
});

describe('splitSql (migrations compiler)', () => {
  it('splits on top-level semicolons only', () => {
    const script = `
      -- a comment; with a semicolon
      create table t (a text default 'x;y', "we;ird" int);
      /* block ; comment */
      create function f() returns int language sql as $body$ select 1; $body$;
      select 'it''s; fine';
      -- trailing comment only
    `;
    const statements = splitSql(script);
    expect(statements).toHaveLength(3);
    expect(statements[0]).toContain(`'x;y'`);
    expect(statements[1]).toContain('$body$ select 1; $body$');
    expect(statements[2]).toContain(`'it''s; fine'`);
  });

  it('refuses unterminated quotes', () => {
    expect(() => splitSql(`select 'oops`)).toThrow(/unterminated/);
    expect(() => splitSql(`select $x$ oops`)).toThrow(/unterminated/);
  });
});

describe('task ids within one millisecond', () => {
  it('keep the order they were made in', () => {
    const at = Date.now() + 10_000_000;
    const ids = Array.from({ length: 1000 }, () => newTaskId(at));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
  });
});
