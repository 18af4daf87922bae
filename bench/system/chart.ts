import * as vega from "vega";
import * as vegaLite from "vega-lite";
import type { TopLevelSpec } from "vega-lite";

export interface LagRow {
  readonly load_pct: number;
  readonly percentile: string;
  readonly ms: number;
}

export interface ThroughputRow {
  readonly connections: number;
  readonly series: string;
  readonly orders_per_s: number;
}

/**
 * Two panels, rendered headless to SVG by Vega (no browser, no canvas): commit-to-view lag
 * percentiles against the offered load, and orders/s against the number of connections.
 */
export const renderChart = async (title: string, lag: ReadonlyArray<LagRow>, throughput: ReadonlyArray<ThroughputRow>): Promise<string> => {
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    resolve: { scale: { color: "independent" } },
    hconcat: [
      {
        title: "commit-to-view lag against load (open loop)",
        width: 320,
        height: 240,
        data: { values: [...lag] },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "load_pct", type: "quantitative", title: "offered load, % of the measured max orders/s", scale: { domain: [0, 100] } },
          y: { field: "ms", type: "quantitative", title: "lag (ms)" },
          color: { field: "percentile", type: "nominal", sort: ["p50", "p95", "p99", "max"] },
        },
      },
      {
        title: "orders/s against concurrency",
        width: 320,
        height: 240,
        data: { values: [...throughput] },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "connections", type: "quantitative", title: "connections", scale: { type: "log", base: 2 } },
          y: { field: "orders_per_s", type: "quantitative", title: "orders/s" },
          color: { field: "series", type: "nominal", sort: ["limit", "baseline", "e2e"] },
        },
      },
    ],
  };
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
};
