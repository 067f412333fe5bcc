/** src/report: the self-contained HTML report and its SVG chart helpers. */
export * from './report.js';
export { barChart, esc, extent, fmt, MAX_POINTS_PER_SERIES, lineChart, niceTicks, table, PALETTE, type BarChartOptions, type Band, type Cell, type LineChartOptions, type LineSeries } from './svg.js';
export { stateBandsFromTrace, securityCounts } from './from-trace.js';
