// CDKTF entry point: `cdktf synth|deploy` runs this (see cdktf.json); `npm run synth` too.
import path from "node:path";
import { App } from "cdktf";
import { buildApp } from "./infra/app";
import { esbuildBundler, formatBytes } from "./infra/bundling";

const bundler = esbuildBundler({
  onBundle: (bundle) => console.log(`bundled ${path.relative(__dirname, bundle.entry).padEnd(32)} ${formatBytes(bundle.bytes).padStart(10)}`),
});
const app = buildApp(new App(), { bundler });
app.synth();
