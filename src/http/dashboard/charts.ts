/**
 * Small charts as inline SVG, rendered on the server: they need no script (so they work with
 * JavaScript off and under the dashboard's CSP), no library and no external file. One bucket
 * per minute, oldest on the left.
 *
 * The plot stretches to the width of its box (`preserveAspectRatio="none"`) with strokes that
 * keep their width (`vector-effect`), and every text (scale, time axis, legend, totals) is
 * HTML around it, so labels stay legible from a phone to a laptop instead of shrinking with
 * the drawing. Hovering a minute shows its numbers (an SVG `<title>`); the figure's
 * `aria-label` says what a screen reader needs.
 * @module
 */
import { html, type SafeHtml } from './html.ts';

/** One series: a name for legends and titles, the class that colours it, and a value per minute. */
export interface ChartSeries {
  name: string;
  /** `chart-<key>` colours the series (stylesheet), e.g. `completed`, `failed`. */
  key: string;
  values: ReadonlyArray<number | null>;
}

/** What every chart shows. */
export interface ChartOptions {
  /** The heading, e.g. `Throughput`. */
  title: string;
  /** A short figure next to the heading, e.g. `340 in 60 min`. */
  headline: string;
  /** The whole chart in one sentence, for screen readers. */
  description: string;
  series: readonly ChartSeries[];
  /** The last bucket's minute, in whole minutes since the epoch. */
  endMinute: number;
  /** Formats a value for the scale and the titles (default: the number). */
  format?: (value: number) => string;
  /** Largest scale value the chart may pick (e.g. 100 for a percentage). */
  cap?: number;
  /** A note under the chart. */
  note?: string;
}

const BUCKET = 10; // viewBox units per minute
const HEIGHT = 100; // viewBox height

/** The smallest of 1, 2, 5 × 10^n at or above `max` (at least 1), so the scale reads well. */
export function niceMax(max: number, cap = Infinity): number {
  if (!(max > 0)) return Math.min(1, cap);
  const power = 10 ** Math.floor(Math.log10(max));
  const nice = [1, 2, 5, 10].map((step) => step * power).find((value) => value >= max) ?? 10 * power;
  return Math.min(nice, cap);
}

/** `HH:MM` UTC of a minute since the epoch. */
function clock(minute: number): string {
  return new Date(minute * 60_000).toISOString().slice(11, 16);
}

function y(value: number, max: number): number {
  return Number((HEIGHT - (Math.min(value, max) / max) * HEIGHT).toFixed(2));
}

function hoverTitles(options: ChartOptions, format: (value: number) => string): SafeHtml[] {
  const count = options.series[0]?.values.length ?? 0;
  const titles: SafeHtml[] = [];
  for (let i = 0; i < count; i++) {
    const parts = options.series.flatMap((series) => {
      const value = series.values[i];
      return value === null || value === undefined ? [] : [`${format(value)} ${series.name}`];
    });
    if (parts.length === 0) continue;
    const minute = options.endMinute - (count - 1 - i);
    titles.push(
      html`<rect class="chart-hit" x="${i * BUCKET}" y="0" width="${BUCKET}" height="${HEIGHT}"
        ><title>${clock(minute)} UTC: ${parts.join(', ')}</title></rect
      >`,
    );
  }
  return titles;
}

function frame(options: ChartOptions, max: number, plot: SafeHtml): SafeHtml {
  const format = options.format ?? String;
  const width = (options.series[0]?.values.length ?? 0) * BUCKET;
  const legend = options.series.map(
    (series) =>
      html`<span class="chart-key"><i class="chart-swatch chart-${series.key}"></i>${series.name}</span>`,
  );
  return html`<figure class="chart">
    <figcaption>
      <b>${options.title}</b> <span class="chart-headline">${options.headline}</span>
      <span class="chart-legend">${legend}</span>
    </figcaption>
    <div class="chart-plot">
      <span class="chart-max">${format(max)}</span>
      <svg
        viewBox="0 0 ${width} ${HEIGHT}"
        preserveAspectRatio="none"
        role="img"
        aria-label="${options.description}"
        xmlns="http://www.w3.org/2000/svg"
      >
        <line class="chart-grid" x1="0" y1="0.5" x2="${width}" y2="0.5" vector-effect="non-scaling-stroke" />
        <line class="chart-grid" x1="0" y1="50" x2="${width}" y2="50" vector-effect="non-scaling-stroke" />
        ${plot} ${hoverTitles(options, format)}
        <line
          class="chart-axis"
          x1="0"
          y1="${HEIGHT}"
          x2="${width}"
          y2="${HEIGHT}"
          vector-effect="non-scaling-stroke"
        />
      </svg>
    </div>
    <div class="chart-time"><span>60 min ago</span><span>30 min ago</span><span>now</span></div>
    ${options.note && html`<p class="chart-note">${options.note}</p>`}
  </figure>`;
}

/** Stacked bars per minute; the first series at the bottom. Nulls count as 0. */
export function barChart(options: ChartOptions): SafeHtml {
  const count = options.series[0]?.values.length ?? 0;
  const totals = Array.from({ length: count }, (_, i) =>
    options.series.reduce((sum, series) => sum + (series.values[i] ?? 0), 0),
  );
  const max = niceMax(Math.max(0, ...totals), options.cap);
  const bars: SafeHtml[] = [];
  for (let i = 0; i < count; i++) {
    let base = 0;
    for (const series of options.series) {
      const value = series.values[i] ?? 0;
      if (value <= 0) continue;
      const top = y(base + value, max);
      bars.push(
        html`<rect
          class="chart-${series.key}"
          x="${i * BUCKET + 1}"
          y="${top}"
          width="${BUCKET - 2}"
          height="${Number((y(base, max) - top).toFixed(2))}"
        />`,
      );
      base += value;
    }
  }
  return frame(options, max, html`${bars}`);
}

/**
 * A step line per series (each minute a flat step, since a bucket holds one value for the
 * whole minute), with the area under it tinted; minutes without a value are gaps.
 */
export function stepChart(options: ChartOptions): SafeHtml {
  const values = options.series.flatMap((series) => series.values.filter((v): v is number => v !== null));
  const max = niceMax(Math.max(0, ...values), options.cap);
  const paths = options.series.map((series) => {
    let line = '';
    let area = '';
    let runStart = -1;
    series.values.forEach((value, i) => {
      const next = series.values[i + 1];
      if (value === null) return;
      const top = y(value, max);
      const x = i * BUCKET;
      if (runStart < 0) {
        runStart = x;
        line += `M${x} ${top}`;
        area += `M${x} ${HEIGHT}V${top}`;
      } else {
        line += `V${top}`;
        area += `V${top}`;
      }
      line += `H${x + BUCKET}`;
      area += `H${x + BUCKET}`;
      if (next === null || next === undefined) {
        area += `V${HEIGHT}Z`;
        runStart = -1;
      }
    });
    if (line === '') return html``;
    return html`<path class="chart-area chart-${series.key}" d="${area}" />
      <path class="chart-line chart-${series.key}" d="${line}" vector-effect="non-scaling-stroke" />`;
  });
  return frame(options, max, html`${paths}`);
}
