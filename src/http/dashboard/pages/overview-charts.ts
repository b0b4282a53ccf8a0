/**
 * The overview's charts: throughput and failure rate per minute over the last hour (from the
 * table), and queue depth (sampled by this app; see chart-data.ts).
 * @module
 */
import type { DepthHistory, Throughput } from '../chart-data.ts';
import { barChart, stepChart } from '../charts.ts';
import { html, type SafeHtml } from '../html.ts';

/** The data of the three charts. */
export interface OverviewCharts {
  throughput: Throughput;
  depth: DepthHistory;
}

function sum(values: ReadonlyArray<number | null>): number {
  return values.reduce<number>((total, value) => total + (value ?? 0), 0);
}

/** Percent with at most one decimal: `0%`, `2.5%`, `100%`. */
function percent(value: number): string {
  return `${Number(value.toFixed(1))}%`;
}

function throughputChart(throughput: Throughput): SafeHtml {
  const completed = throughput.values.COMPLETED ?? [];
  const failed = throughput.values.FAILED ?? [];
  const done = sum(completed);
  const lost = sum(failed);
  return barChart({
    title: 'Throughput',
    headline: `${done + lost} finished in 60 min`,
    description: `Tasks finished per minute over the last hour: ${done} completed, ${lost} failed.`,
    series: [
      { name: 'completed', key: 'completed', values: completed },
      { name: 'failed', key: 'failed', values: failed },
    ],
    endMinute: throughput.endMinute,
    format: (value) => `${value}/min`,
  });
}

function failureRateChart(throughput: Throughput): SafeHtml {
  const completed = throughput.values.COMPLETED ?? [];
  const failed = throughput.values.FAILED ?? [];
  // Final failures among the tasks that finished that minute; a minute where none finished has no rate.
  const rates = completed.map((done, i) => {
    const lost = failed[i] ?? 0;
    return done + lost === 0 ? null : (lost / (done + lost)) * 100;
  });
  const finished = sum(completed) + sum(failed);
  const overall = finished === 0 ? null : (sum(failed) / finished) * 100;
  return stepChart({
    title: 'Failure rate',
    headline: overall === null ? 'nothing finished' : `${percent(overall)} in 60 min`,
    description:
      overall === null
        ? 'No task finished in the last hour.'
        : `Share of finished tasks that failed, per minute over the last hour: ${percent(overall)} overall.`,
    series: [{ name: 'failed', key: 'rate', values: rates }],
    endMinute: throughput.endMinute,
    format: percent,
    cap: 100,
    note: 'Final failures only: an attempt that is retried is not a failure yet.',
  });
}

function depthChart(depth: DepthHistory): SafeHtml {
  const pending = depth.values.pending ?? [];
  const running = depth.values.running ?? [];
  const last = (values: ReadonlyArray<number | null>) => values.at(-1) ?? null;
  const now =
    last(pending) === null ? 'not sampled yet' : `${last(pending)} pending, ${last(running)} running`;
  return stepChart({
    title: 'Queue depth',
    headline: now,
    description: `Pending and running tasks per minute over the last hour, as sampled by this server; now ${now}.`,
    series: [
      { name: 'pending', key: 'pending', values: pending },
      { name: 'running', key: 'running', values: running },
    ],
    endMinute: depth.endMinute,
    note: 'The most seen each minute, sampled by this server while a dashboard page was open; gaps are minutes nobody watched.',
  });
}

/** The charts, as the `live-charts` fragment. */
export function chartsFragment(charts: OverviewCharts): SafeHtml {
  return html`<div id="live-charts" class="charts">
    ${throughputChart(charts.throughput)} ${failureRateChart(charts.throughput)} ${depthChart(charts.depth)}
  </div>`;
}
