// `npm run bench`: each benchmark reports ratios against a baseline measured in the same run.
import { domainBench } from "./domain.bench";
import { placeOrderBench } from "./place-order.bench";
import { projectionBench } from "./projection.bench";

const BENCHES = [domainBench, placeOrderBench, projectionBench];

const main = async (): Promise<void> => {
  for (const bench of BENCHES) {
    for (const line of await bench()) console.log(line);
  }
};

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
