// CDKTF entry point: `cdktf synth|deploy` runs this (see cdktf.json); `npm run synth` too.
import { App } from "cdktf";
import { buildApp } from "./infra/app";

const app = buildApp(new App());
app.synth();
