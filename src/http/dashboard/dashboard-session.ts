/**
 * The dashboard's login session: a cookie value derived from the API token, never the token
 * itself. It is `<expiresAt>.<mac>`, where `mac` is HMAC-SHA-256 keyed with the token over a
 * fixed label and the expiry (seconds since the epoch). So it needs no server-side state (any
 * Worker isolate or replica can check it), leaks nothing usable as an API token, expires on
 * its own, and every session ends when the token is rotated.
 *
 * Comparisons go through `crypto.subtle.verify`, which compares MACs in constant time in
 * Node (OpenSSL `CRYPTO_memcmp`) and workerd (BoringSSL), so no code here compares secrets
 * by hand; the submitted login token is checked the same way (see `login`).
 * @module
 */

/** How long a login lasts, in seconds: 12 hours, the cookie's Max-Age too. */
export const DASHBOARD_SESSION_SECONDS = 12 * 60 * 60;

// Versioned, so a future format can refuse old cookies instead of misreading them.
const LABEL = 'edge-task-worker dashboard session v1';
const VALUE = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();

function hmacKey(token: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(token), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

function signedText(expiresAt: number): Uint8Array<ArrayBuffer> {
  // A copy: Workers types give encode() an ArrayBufferLike, WebCrypto wants an ArrayBuffer.
  return new Uint8Array(encoder.encode(`${LABEL} ${expiresAt}`));
}

function toBase64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

async function sessionValue(key: CryptoKey, expiresAt: number): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', key, signedText(expiresAt));
  return `${expiresAt}.${toBase64url(new Uint8Array(mac))}`;
}

/**
 * The cookie value a login with `token` gets when it expires at `expiresAt` (seconds since
 * the epoch). Exported for tests, which forge expired or foreign sessions with it.
 */
export async function dashboardSessionValue(token: string, expiresAt: number): Promise<string> {
  return sessionValue(await hmacKey(token), expiresAt);
}

/** Issues and checks session values for one API token. */
export interface DashboardSessions {
  /**
   * The session value for a login with `submitted`, or `null` when it is not the API token.
   * @param now milliseconds since the epoch
   */
  login(submitted: string, now: number): Promise<string | null>;
  /**
   * True when `value` is a session this token issued and it has not expired at `now`
   * (milliseconds since the epoch).
   */
  isValid(value: string | undefined, now: number): Promise<boolean>;
}

/** Builds the session checks for `token`. Nothing is hashed until the first use. */
export function dashboardSessions(token: string): DashboardSessions {
  // Imported on first use, not here: Workers forbid crypto work outside a request.
  let key: Promise<CryptoKey> | undefined;
  const tokenKey = (): Promise<CryptoKey> => (key ??= hmacKey(token));

  async function isValid(value: string | undefined, now: number): Promise<boolean> {
    const match = VALUE.exec(value ?? '');
    if (!match) return false;
    const expiresAt = Number(match[1]);
    if (expiresAt * 1000 <= now) return false;
    const mac = fromBase64url(match[2] as string);
    // Canonical encodings only: the last character of a 32-byte MAC carries two unused bits,
    // so several spellings decode to the same bytes; only the one this code issues is valid.
    if (toBase64url(mac) !== match[2]) return false;
    return crypto.subtle.verify('HMAC', await tokenKey(), mac, signedText(expiresAt));
  }

  return {
    async login(submitted, now) {
      // Real tokens are far shorter; the cap keeps a pasted novel from being hashed.
      if (submitted.length > 4096) return null;
      // Double-HMAC comparison: MAC the submitted text under the token's key and let verify
      // check it against the token's own MAC. Equal MACs mean equal texts, and the compare
      // takes the same time wherever they differ. (Using the submitted text as the key
      // instead would accept "token\0": HMAC zero-pads keys.)
      const key = await tokenKey();
      const given = await crypto.subtle.sign('HMAC', key, encoder.encode(submitted));
      if (!(await crypto.subtle.verify('HMAC', key, given, encoder.encode(token)))) return null;
      return sessionValue(key, Math.floor(now / 1000) + DASHBOARD_SESSION_SECONDS);
    },
    isValid,
  };
}
