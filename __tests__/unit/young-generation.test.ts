// What the runtime makes once per message must die young. A getter written in an object
// literal made each SQS record a dictionary-mode object with an accessor pair of its own,
// which V8 makes in the old generation: from there the getter's closure kept the record, its
// message and all they reached alive past every young collection, and the full collections
// that followed were the clusters in the lag's tail. V8 itself answers here.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const REPO = resolve(__dirname, "..", "..");

describe("objects made once per message", () => {
  it("every SQS record of a local queue has fast properties and the same hidden class, and still gives its body's MD5", async () => {
    const { stdout } = await run(process.execPath, ["--allow-natives-syntax", "--import", "tsx", "__tests__/support/hidden-class-probe.ts"], {
      cwd: REPO,
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toEqual({
      records: 5,
      fastProperties: true,
      oneHiddenClass: true,
      md5: createHash("md5").update('{"n":0}').digest("hex"),
    });
  });
});
