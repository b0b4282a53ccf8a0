/**
 * One live page's stream: the first snapshot, then a new one shortly after each task event on
 * the page's channel (bursts coalesced), and on a timer because not every change is announced
 * on a channel a page can hear (a task's start and finish go to its own channel only, which
 * the overview does not subscribe to for every task): every few seconds while something is
 * pending or running, every half minute otherwise. It ends after `maxAgeMs` (the browser
 * reconnects, which checks the session again), when the notifier goes down (after telling the
 * page, which polls meanwhile), on a failed read, or when the client leaves.
 * @module
 */
import type { LiveSnapshot } from './live-views.ts';
import { clearTimer, unrefTimer } from './unref-timer.ts';
import { sseStream, type SseStream } from './sse-stream.ts';

/** Timings of live streams. */
export interface LiveStreamSettings {
  /** Comment line interval (ms). */
  heartbeatMs: number;
  /** The browser's wait before reconnecting to a stream that ended (ms). */
  retryMs: number;
  /** A stream ends after this long (ms); the browser reconnects. */
  maxAgeMs: number;
  /** Wait this long after an event for more before reading (ms). */
  debounceMs: number;
  /** At least this long between the starts of two reads (ms), however busy the channel. */
  minIntervalMs: number;
  /** Read again after this long while the page shows pending or running tasks (ms). */
  busyRefreshMs: number;
  /** Read again after this long otherwise (ms). */
  idleRefreshMs: number;
}

/** What a stream reads and where it reports. */
export interface LiveStreamSource {
  /** Reads a snapshot that reflects every change committed before `since` (ms since the epoch). */
  load(since: number): Promise<LiveSnapshot>;
  /** A read failed; the stream ends. */
  onError(error: unknown): void;
  /** The stream ended, for whatever reason. Called once. */
  onClose(): void;
}

/** A stream; feed it channel news with {@link LiveStream.changed} and {@link LiveStream.down}. */
export class LiveStream {
  readonly #source: LiveStreamSource;
  readonly #settings: LiveStreamSettings;
  readonly #sse: SseStream;
  #last: string;
  #busy: boolean;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #maxAge: ReturnType<typeof setTimeout> | undefined;
  #reading = false;
  #again = false;
  /** When the first event since the last read arrived (ms), or 0. */
  #since = 0;
  /** When the last read started (ms). */
  #readAt = 0;

  constructor(first: LiveSnapshot, source: LiveStreamSource, settings: LiveStreamSettings) {
    this.#source = source;
    this.#settings = settings;
    this.#sse = sseStream({
      heartbeatMs: settings.heartbeatMs,
      retryMs: settings.retryMs,
      onClose: () => this.#closed(),
    });
    this.#last = JSON.stringify(first.fragments);
    this.#busy = first.busy;
    this.#sse.send('snapshot', JSON.stringify(first));
    this.#maxAge = unrefTimer(setTimeout(() => this.#sse.close(), settings.maxAgeMs));
    this.#schedule(this.#busy ? settings.busyRefreshMs : settings.idleRefreshMs);
  }

  /** The response body. */
  get body(): ReadableStream<Uint8Array> {
    return this.#sse.body;
  }

  /** A task event arrived: read again shortly. */
  changed(): void {
    if (!this.#sse.open) return;
    if (this.#reading) {
      if (this.#since === 0) this.#since = Date.now();
      this.#again = true;
      return;
    }
    // A read is due shortly already: it will see this change too.
    if (this.#since !== 0) return;
    this.#since = Date.now();
    this.#soon();
  }

  /** The notifier lost its connection: tell the page to poll, and end. */
  down(): void {
    this.#sse.send('down', '{}');
    this.#sse.close();
  }

  /** Reads after the debounce, and no sooner than `minIntervalMs` after the last read began. */
  #soon(): void {
    const { debounceMs, minIntervalMs } = this.#settings;
    this.#schedule(Math.max(debounceMs, this.#readAt + minIntervalMs - Date.now()));
  }

  #schedule(ms: number): void {
    if (!this.#sse.open) return;
    clearTimer(this.#timer);
    this.#timer = unrefTimer(setTimeout(() => void this.#read(), ms));
  }

  async #read(): Promise<void> {
    this.#timer = undefined;
    this.#reading = true;
    this.#readAt = Date.now();
    // After an event: a read started after it sees the change. On the timer there is no event
    // to be fresher than, and a read another page started a moment ago will do.
    const since = this.#since === 0 ? Date.now() - this.#settings.minIntervalMs : this.#since;
    this.#since = 0;
    try {
      const snapshot = await this.#source.load(since);
      const fragments = JSON.stringify(snapshot.fragments);
      // Unchanged: only the time, so the page still shows how current it is.
      const sent = fragments === this.#last ? { ...snapshot, fragments: {} } : snapshot;
      this.#last = fragments;
      this.#busy = snapshot.busy;
      this.#sse.send('snapshot', JSON.stringify(sent));
    } catch (error) {
      this.#source.onError(error);
      this.#sse.close();
      return;
    } finally {
      this.#reading = false;
    }
    if (this.#again) {
      this.#again = false;
      this.#soon();
    } else {
      this.#schedule(this.#busy ? this.#settings.busyRefreshMs : this.#settings.idleRefreshMs);
    }
  }

  #closed(): void {
    clearTimer(this.#timer);
    clearTimer(this.#maxAge);
    this.#timer = undefined;
    this.#source.onClose();
  }
}
