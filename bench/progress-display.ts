/**
 * The progress display on stderr: one line rewritten in place on a terminal (workload, system,
 * repetition, elapsed time, the workload's own detail), plain lines otherwise (CI logs).
 * Results go to stdout, so `run.ts > results.txt` keeps only the tables.
 * @module
 */

export interface ProgressStep {
  /** Sets the workload's detail, e.g. "12,000/20,000 completed". */
  detail(text: string): void;
  /** Ends the step with a one-line summary. */
  done(summary: string): void;
}

const REFRESH_MS = 250;

/** A step's elapsed time, e.g. `12.3s`. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Elapsed time as m:ss. */
function clock(ms: number): string {
  const total = Math.floor(ms / 1000);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

export class ProgressDisplay {
  private readonly stream: NodeJS.WriteStream;
  private readonly live: boolean;
  private readonly startedAt = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private line = '';

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.stream = stream;
    this.live = stream.isTTY === true;
  }

  /** Starts a step, e.g. `start('drain', 'pg-boss/best', 'rep 2/3')`. */
  start(workload: string, subject: string, position: string): ProgressStep {
    const stepStarted = performance.now();
    let detail = '';
    // Total elapsed first: on a narrow terminal the end of the line is what gets cut.
    const render = () =>
      `${clock(performance.now() - this.startedAt)} [${workload}] ${subject} ${position} · ` +
      `${seconds(performance.now() - stepStarted)}${detail ? ` · ${detail}` : ''}`;
    if (this.live) {
      clearInterval(this.timer);
      this.timer = setInterval(() => this.draw(render()), REFRESH_MS);
      this.timer.unref();
      this.draw(render());
    } else {
      this.stream.write(`${render()}\n`);
    }
    return {
      detail: (text) => {
        detail = text;
      },
      done: (summary) => {
        clearInterval(this.timer);
        this.timer = undefined;
        const line =
          `${clock(performance.now() - this.startedAt)} [${workload}] ${subject} ${position} · ` +
          `${seconds(performance.now() - stepStarted)} · ${summary}`;
        if (this.live) this.clear();
        this.stream.write(`${line}\n`);
      },
    };
  }

  /** A message between steps (warnings, phase changes). */
  note(text: string): void {
    if (this.live) this.clear();
    this.stream.write(`${text}\n`);
  }

  /** Removes the live line (call before exiting). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.live) this.clear();
  }

  private draw(text: string): void {
    // A pseudo-terminal without a size reports 0 columns.
    const width = this.stream.columns || 120;
    this.line = text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text;
    this.stream.write(`\r\x1b[2K${this.line}`);
  }

  private clear(): void {
    if (this.line) this.stream.write('\r\x1b[2K');
    this.line = '';
  }
}
