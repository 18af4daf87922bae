// `npm start`: the local runtime (embedded PostgreSQL, Redis, log tailer, fan-out, HTTP
// gateway). It is not built yet; say so plainly instead of pretending to start.
console.error(
  [
    "npm start: the local runtime is not implemented yet.",
    "What exists today: the pure domain core and its tests (npm test), and the Terraform synth (npm run synth).",
    "See README.md, section Status.",
  ].join("\n"),
);
process.exit(2);
