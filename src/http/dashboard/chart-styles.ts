/**
 * The charts' styles (charts.ts), inline like the main stylesheet: SVG shapes take their
 * colours from classes, so one sheet colours the bars, lines, swatches and legends alike.
 * @module
 */
import { html } from './html.ts';

// Written out in the template, not interpolated (see stylesheet.ts).
/** The charts' stylesheet, as a `<style>` element. Series colours are `.chart-<key>`. */
export const CHART_STYLESHEET = html`<style>
  .charts {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(17rem, 1fr));
    gap: 0.6rem 1.2rem;
  }
  .chart {
    margin: 0;
    min-width: 0;
  }
  .chart figcaption {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    gap: 0 0.6rem;
    font-size: 0.85rem;
  }
  .chart-headline,
  .chart-note,
  .chart-max,
  .chart-time {
    color: var(--muted);
    font-size: 0.75rem;
  }
  .chart-legend {
    display: flex;
    gap: 0.6rem;
    margin-left: auto;
    font-size: 0.75rem;
  }
  .chart-swatch {
    display: inline-block;
    width: 0.6rem;
    height: 0.6rem;
    margin-right: 0.25rem;
    border-radius: 0.15rem;
    background: currentColor;
  }
  .chart-plot {
    position: relative;
    margin-top: 0.2rem;
  }
  .chart-plot svg {
    display: block;
    width: 100%;
    height: 6.5rem;
    overflow: visible;
  }
  .chart-max {
    position: absolute;
    top: -0.1rem;
    left: 0.2rem;
    background: rgba(255, 255, 255, 0.8);
    line-height: 1;
  }
  .chart-time {
    display: flex;
    justify-content: space-between;
  }
  .chart-note {
    margin: 0.1rem 0 0;
  }
  .chart-grid {
    stroke: var(--line);
    stroke-dasharray: 3 3;
  }
  .chart-axis {
    stroke: var(--muted);
  }
  .chart-hit {
    fill: transparent;
  }
  .chart-hit:hover {
    fill: rgba(11, 87, 208, 0.08);
  }
  .chart-line {
    fill: none;
    stroke-width: 1.5;
  }
  .chart-area {
    stroke: none;
    opacity: 0.15;
  }
  .chart-completed {
    color: #1a7f37;
    fill: #1a7f37;
  }
  .chart-failed,
  .chart-rate {
    color: #cf222e;
    fill: #cf222e;
    stroke: #cf222e;
  }
  .chart-pending {
    color: #8c959f;
    fill: #8c959f;
    stroke: #6e7781;
  }
  .chart-running {
    color: #0b57d0;
    fill: #0b57d0;
    stroke: #0b57d0;
  }
</style>`;
