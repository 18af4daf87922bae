// `npm run bench`: the whole system under load (bench/system.bench.ts), then the micro
// benchmarks, each reporting ratios against a baseline measured in the same run.
// `npm run bench -- --quick`: the system bench only, shorter (under a minute), for CI.
// Exit code 1 only when a view differs from the SQL aggregate (or the outbox is not empty)
// after a phase; a speed figure never fails the run.
// First, as in the runtime: this process times the applied markers, and a pause of its own
// collector would count as lag of the system it measures.
import "../local/gc-flags";
import { resolve } from "node:path";
import { domainBench } from "./domain.bench";
import { placeOrderBench } from "./place-order.bench";
import { projectionBench } from "./projection.bench";
import { systemBench } from "./system.bench";

const MICRO = [domainBench, placeOrderBench, projectionBench];

const main = async (): Promise<number> => {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--quick");
  if (unknown.length > 0) throw new Error(`unknown argument(s) ${unknown.join(" ")}: use --quick or nothing`);
  const quick = args.includes("--quick");
  const started = Date.now();
  const system = await systemBench({ quick, resultsDir: resolve(__dirname, "results") });
  console.log(`\n${system.table}\n`);
  if (!quick) {
    console.log("micro benchmarks:");
    for (const bench of MICRO) {
      // A micro benchmark that breaks is reported, not fatal: only a view difference fails the run.
      try {
        for (const line of await bench()) console.log(`  ${line}`);
      } catch (error) {
        console.log(`  ${bench.name} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  console.log(`bench finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (system.differences.length > 0) {
    console.error(`FAILED: ${system.differences.length} difference(s) between the views and the SQL aggregate:`);
    for (const line of system.differences.slice(0, 20)) console.error(`  ${line}`);
    return 1;
  }
  return 0;
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
