import { synthesizeAll } from "./synth";

/**
 * What changes run to run or with other people's code: the bundles' asset hashes, wherever
 * they appear (the asset paths, `source_code_hash`, the migration's trigger).
 */
const normalise = (text: string): unknown => {
  const hashes = new Set([...text.matchAll(/assets\/[^/"]+\/([0-9A-F]{32,})\/archive\.zip/gi)].map((match) => match[1] as string));
  let normalised = text.replace(/("source_code_hash": )"[^"]*"/g, '$1"<asset hash>"');
  for (const hash of hashes) normalised = normalised.split(hash).join("<asset hash>");
  return JSON.parse(normalised);
};

describe("snapshots", () => {
  const stacks = synthesizeAll();
  it.each([...stacks.keys()])("%s", (id) => {
    expect(normalise(stacks.get(id)!.text)).toMatchSnapshot();
  });
});
