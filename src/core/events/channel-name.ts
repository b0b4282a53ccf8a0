/**
 * The channel names every notifier accepts, so that a channel used with one transport works on
 * all of them: a publisher on Redis TCP and a subscriber on Upstash REST share a channel.
 * @module
 */
import { NotifierError } from '../notifier-error.ts';

// Upstash's SDK puts the channel into the request path unencoded (`/subscribe/<channel>`):
// `?` and `#` end the path, `/` and `\` split it, and `%` is decoded by the server, so
// the subscriber would listen somewhere else than the publisher publishes.
const UNSAFE = /[\s%?#/\\\p{Cc}]/u;

/**
 * Returns `channel` when it is a usable channel name: non-empty, at most 1,000 characters,
 * without whitespace, control characters or `% ? # / \`.
 * @throws NotifierError `INVALID_CHANNEL` otherwise.
 */
export function assertChannel(channel: string): string {
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new NotifierError('INVALID_CHANNEL', 'A channel name must be a non-empty string.');
  }
  if (channel.length > 1000) {
    throw new NotifierError(
      'INVALID_CHANNEL',
      `Channel name ${JSON.stringify(channel.slice(0, 40))}... is ${channel.length} characters long; the limit is 1000.`,
      { channel },
    );
  }
  const bad = UNSAFE.exec(channel);
  if (bad) {
    throw new NotifierError(
      'INVALID_CHANNEL',
      `Channel name ${JSON.stringify(channel)} contains ${JSON.stringify(bad[0])}: use letters, digits and ` +
        'punctuation other than % ? # / \\ (no whitespace), so the name survives a URL path on Upstash.',
      { channel },
    );
  }
  return channel;
}
