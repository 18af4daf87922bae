// One jest run, six projects. Integration and e2e share servers started once per run by
// __tests__/support/global-setup.ts (or the ones named by DATABASE_URL / REDIS_URL). The
// fault suite starts servers of its own per test file (it restarts, pauses and wipes them)
// and the runtime as a child process; each case has its own timeout.
const transform = {
  "^.+\\.ts$": [
    "@swc/jest",
    { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } },
  ],
};

const project = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: "node",
  transform,
  moduleFileExtensions: ["ts", "js", "json"],
  testMatch: [`<rootDir>/__tests__/${name}/**/*.test.ts`],
  setupFiles: ["<rootDir>/jest.setup-env.js"],
  // `npm start` keeps PostgreSQL's data (with its own *.snap files) in .local-data/.
  modulePathIgnorePatterns: ["<rootDir>/.local-data/", "<rootDir>/cdktf.out/", "<rootDir>/scratch/"],
  ...extra,
});

const withServers = {
  globalSetup: "<rootDir>/__tests__/support/global-setup.ts",
  globalTeardown: "<rootDir>/__tests__/support/global-teardown.ts",
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    project("unit"),
    project("integration", withServers),
    project("infra"),
    project("e2e", withServers),
    project("faults"),
    // Real Terraform and moto_server: see __tests__/deploy/deploy.test.ts.
    project("deploy"),
  ],
  testTimeout: 60_000,
};
