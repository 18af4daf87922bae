import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { esbuildBundler, formatBytes, type Bundle } from "../../infra/bundling";
import { SOURCE_PATHS } from "../../infra/app";
import { FUNCTION_NAMES } from "../../infra/functions";

describe("bundling", () => {
  it("bundles a handler with esbuild: minified CommonJS with a source map, AWS SDK left out, once per entry", () => {
    const built: Bundle[] = [];
    const outDir = mkdtempSync(path.join(tmpdir(), "bundle-test-"));
    try {
      const bundler = esbuildBundler({ outDir, onBundle: (b) => built.push(b) });
      const entry = path.join(SOURCE_PATHS.handlersDir, "authorizer.ts");

      const bundle = bundler(entry);
      const code = readFileSync(path.join(bundle.dir, "index.js"), "utf8");
      expect(existsSync(path.join(bundle.dir, "index.js.map"))).toBe(true);
      expect(code).toContain("sourceMappingURL=index.js.map");
      expect(code).toMatch(/require\("@aws-sdk\/client-secrets-manager"\)/);
      expect(code.split("\n").length).toBeLessThan(10);
      expect(bundle.bytes).toBe(Buffer.byteLength(code));

      expect(bundler(entry)).toBe(bundle);
      expect(built).toHaveLength(1);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it("has a handler file for every function", () => {
    for (const name of FUNCTION_NAMES) expect(existsSync(path.join(SOURCE_PATHS.handlersDir, `${name}.ts`))).toBe(true);
  });

  it("formats sizes for the synth log", () => {
    expect([formatBytes(12), formatBytes(2048), formatBytes(3 * 1024 * 1024)]).toEqual(["12 B", "2.0 KiB", "3.00 MiB"]);
  });
});
