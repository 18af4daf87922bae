import js from "@eslint/js";
import tseslint from "typescript-eslint";
import layerBoundaries from "./eslint/layer-boundaries.mjs";

export default tseslint.config(
  { ignores: ["node_modules/", "cdktf.out/", "dist/", "coverage/", "scratch/", ".local-data/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { project: { rules: { "layer-boundaries": layerBoundaries } } },
    rules: {
      "project/layer-boundaries": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
    },
  },
  {
    files: ["domain/**/*.ts"],
    rules: {
      // The domain gets its clock and ids through ports.
      "no-restricted-globals": ["error", { name: "process", message: "domain/ reads no environment" }],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "use the Clock port" },
        { object: "Math", property: "random", message: "use the IdGenerator port" },
      ],
      "no-restricted-syntax": ["error", { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "use the Clock port" }],
    },
  },
  { files: ["**/*.mjs", "**/*.cjs", "*.js"], languageOptions: { globals: { process: "readonly", console: "readonly", module: "writable", require: "readonly", __dirname: "readonly" } } },
);
