// `npm run bench`: each benchmark reports ratios against a baseline measured in the same run.
import { domainBench } from "./domain.bench";

const main = async (): Promise<void> => {
  const lines = [...(await domainBench())];
  for (const line of lines) console.log(line);
};

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
