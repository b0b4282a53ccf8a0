/**
 * Reading a REST request: the JSON command arrays. (The bearer token is checked by
 * ../local-request-guard.ts.)
 * @module
 */

/** A request the endpoint cannot run; answered 400 with `message`. */
export class BadRequest extends Error {}

/** One command from its JSON form, e.g. `["SET","k","v","EX",100]` (numbers become text). */
export function parseCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest('ERR failed to parse command: expected a non-empty JSON array');
  }
  return value.map((arg) => {
    if (typeof arg === 'string') return arg;
    if (typeof arg === 'number' || typeof arg === 'boolean') return String(arg);
    throw new BadRequest(`ERR failed to parse command: ${JSON.stringify(arg)} is not a string or number`);
  });
}

/** Commands of a pipeline or transaction: `[[...], [...]]`. */
export function parseCommands(value: unknown): string[][] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest('ERR failed to parse pipeline request: expected a non-empty JSON array of commands');
  }
  return value.map(parseCommand);
}

/** The JSON body, or a {@link BadRequest}. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest('ERR failed to parse request body: not JSON');
  }
}
