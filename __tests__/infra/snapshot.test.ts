import { SOURCE_PATHS } from "../../infra/app";
import { migrationsDigest } from "../../infra/migration";
import { synthesizeAll } from "./synth";

/** What changes run to run or with other people's code: asset hashes and the migrations digest. */
const normalise = (text: string): unknown => {
  const digest = migrationsDigest(SOURCE_PATHS.migrationsDir);
  return JSON.parse(
    text
      .replace(/("source_code_hash": )"[^"]*"/g, '$1"<asset hash>"')
      .replace(/assets\/([^/"]+)\/[0-9A-F]{32,}\/archive\.zip/gi, "assets/$1/<asset hash>/archive.zip")
      .split(digest)
      .join("<migrations digest>"),
  );
};

describe("snapshots", () => {
  const stacks = synthesizeAll();
  it.each([...stacks.keys()])("%s", (id) => {
    expect(normalise(stacks.get(id)!.text)).toMatchSnapshot();
  });
});
