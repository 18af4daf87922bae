import { mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildSync } from "esbuild";

/** A handler bundled into a directory of its own, ready to zip as a `TerraformAsset`. */
export interface Bundle {
  /** Path of the handler's source, as given. */
  readonly entry: string;
  /** Directory holding `index.js` (+ `index.js.map`). */
  readonly dir: string;
  /** Size of `index.js` in bytes. */
  readonly bytes: number;
}

/** Turns a handler's source file into a bundle directory. */
export type Bundler = (entry: string) => Bundle;

export interface EsbuildBundlerOptions {
  /**
   * Where bundle directories go. Inside the project by default, so the relative source paths
   * in the maps (and so the asset hashes) are the same on every machine.
   */
  readonly outDir?: string;
  /** Called once per bundle actually built (not on cache hits), e.g. to print its size. */
  readonly onBundle?: (bundle: Bundle) => void;
}

const bundleName = (entry: string): string => path.basename(entry).replace(/\.[cm]?[jt]s$/, "");

/**
 * esbuild at synth time: node22, CommonJS, minified, with source maps, the AWS SDK v3 left
 * out (the nodejs22.x runtime ships it). Each entry is built once per process however many
 * stacks ask for it, so synthesizing dev and prod costs one build per handler.
 */
export const esbuildBundler = (options: EsbuildBundlerOptions = {}): Bundler => {
  const cache = new Map<string, Bundle>();
  const outDir = options.outDir ?? path.resolve(__dirname, "..", "node_modules", ".cache", "cqrs-outbox-bundles");
  return (entry) => {
    const key = path.resolve(entry);
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const dir = path.join(outDir, bundleName(entry));
    mkdirSync(dir, { recursive: true });
    const outfile = path.join(dir, "index.js");
    buildSync({
      entryPoints: [key],
      outfile,
      bundle: true,
      platform: "node",
      target: "node22",
      format: "cjs",
      minify: true,
      sourcemap: true,
      external: ["@aws-sdk/*"],
      legalComments: "none",
      logLevel: "silent",
    });
    const bundle: Bundle = { entry, dir, bytes: statSync(outfile).size };
    cache.set(key, bundle);
    options.onBundle?.(bundle);
    return bundle;
  };
};

/**
 * A stand-in for tests that only look at the synthesized JSON: writes a one-line module per
 * handler instead of bundling, so a test file synthesizes in milliseconds.
 */
export const stubBundler = (outDir: string = mkdtempSync(path.join(tmpdir(), "cqrs-outbox-stub-bundles-"))): Bundler => {
  const cache = new Map<string, Bundle>();
  return (entry) => {
    const cached = cache.get(entry);
    if (cached !== undefined) return cached;
    const dir = path.join(outDir, bundleName(entry));
    mkdirSync(dir, { recursive: true });
    const source = `exports.handler = async () => { throw new Error("stub bundle of ${bundleName(entry)}"); };\n`;
    writeFileSync(path.join(dir, "index.js"), source);
    const bundle: Bundle = { entry, dir, bytes: Buffer.byteLength(source) };
    cache.set(entry, bundle);
    return bundle;
  };
};

export const formatBytes = (bytes: number): string =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
