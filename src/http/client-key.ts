/**
 * Who a request came from, for the credential throttle: an address only the network can vouch
 * for, never a header a client can set at will.
 *
 * 1. With `trustProxy`, the last `X-Forwarded-For` entry: the one your own proxy appended (a
 *    client can put anything before it).
 * 2. On Cloudflare (the request has `cf` properties), `CF-Connecting-IP`, which Cloudflare sets.
 * 3. On Node (@hono/node-server passes the `IncomingMessage` as `c.env.incoming`), the socket's
 *    remote address.
 * 4. Otherwise (`app.request()` in tests, runtimes that expose neither) the one key `unknown`,
 *    which all such clients share.
 *
 * IPv6 addresses are keyed by their /64 (one subscriber usually holds a whole /64, so rotating
 * inside it must not buy fresh attempts), and IPv4-mapped IPv6 (`::ffff:192.0.2.1`) by the IPv4.
 * @module
 */
import type { Context } from 'hono';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
// Some proxies write the client's port too: `192.0.2.1:5678`, `[2001:db8::1]:5678`.
const WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[^\]]*\]):\d+$/;
const MAPPED_IPV4 = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i;
const HEX_GROUP = /^[0-9a-f]{1,4}$/;

/** The first four 16-bit groups of an IPv6 address, or `undefined` when it is not one. */
function ipv6Prefix64(address: string): string | undefined {
  // A zone (`fe80::1%eth0`) names an interface, not a client; an embedded IPv4 tail is two groups.
  const text = address.toLowerCase().replace(/%.*$/, '');
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string | undefined): string[] => (part ? part.split(':') : []);
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const last = tail.length > 0 ? tail : head;
  if (last.length > 0 && IPV4.test(last[last.length - 1] as string)) last.splice(-1, 1, '0', '0');
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<string>(Math.max(missing, 0)).fill('0'), ...tail];
  if (!groups.every((group) => HEX_GROUP.test(group))) return undefined;
  return groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':');
}

/** The throttle key of an address: IPv4 as is, IPv6 as `<first 64 bits>::/64`. */
export function addressKey(address: string): string {
  const trimmed = address.trim().replace(WITH_PORT, '$1');
  const mapped = MAPPED_IPV4.exec(trimmed);
  if (mapped) return mapped[1] as string;
  if (IPV4.test(trimmed)) return trimmed;
  const prefix = trimmed.includes(':') ? ipv6Prefix64(trimmed.replace(/^\[|\]$/g, '')) : undefined;
  if (prefix !== undefined) return `${prefix}::/64`;
  // Not an address (a proxy that writes names or `unknown`): kept, but short, so it cannot
  // make the throttle's map hold long strings.
  return trimmed.slice(0, 64).toLowerCase() || 'unknown';
}

function lastForwardedFor(c: Context): string | undefined {
  const header = c.req.header('X-Forwarded-For');
  const entries = header
    ?.split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  return entries?.[entries.length - 1];
}

function socketAddress(c: Context): string | undefined {
  // Read without importing Node types: anything else in env simply has no such path.
  const env = c.env as { incoming?: { socket?: { remoteAddress?: unknown } } } | undefined;
  const address = env?.incoming?.socket?.remoteAddress;
  return typeof address === 'string' && address !== '' ? address : undefined;
}

function cloudflareAddress(c: Context): string | undefined {
  const cf = (c.req.raw as Request & { cf?: unknown }).cf;
  return typeof cf === 'object' && cf !== null ? c.req.header('CF-Connecting-IP') : undefined;
}

/** The throttle key of the client that sent the request (see the module comment). */
export function clientKey(c: Context, trustProxy: boolean): string {
  const address = (trustProxy ? lastForwardedFor(c) : undefined) ?? cloudflareAddress(c) ?? socketAddress(c);
  return address === undefined ? 'unknown' : addressKey(address);
}
