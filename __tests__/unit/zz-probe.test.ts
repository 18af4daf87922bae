import path from "node:path";
import { ESLint } from "eslint";
it("probe", async () => {
  const root = path.resolve(__dirname, "..", "..");
  const eslint = new ESLint({ cwd: root });
  const [r] = await eslint.lintText('import { Client } from "pg";\nexport const x = Client;\n', { filePath: path.join(root, "domain", "x.ts") });
  console.log(JSON.stringify(r?.messages));
});
