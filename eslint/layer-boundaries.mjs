// Enforces the dependency direction of DESIGN.md section 2 on every import, require() and
// dynamic import(): handlers -> adapters -> domain; local -> handlers; infra and main.ts
// alone speak cdktf. A violation is a lint error, so `npm test` fails on it.
import path from "node:path";

const LAYERS = ["domain", "adapters", "handlers", "infra", "local", "bench", "__tests__", "eslint", "scripts"];

/** The top-level folder (layer) of a file, "main" for main.ts, or null outside the project. */
const layerOf = (root, file) => {
  const relative = path.relative(root, file);
  if (relative.startsWith("..") || path.isAbsolute(relative)) return null;
  const [first] = relative.split(path.sep);
  // A specifier names main.ts without its extension ("../main") or as "../main.js".
  if (["main.ts", "main", "main.js"].includes(relative)) return "main";
  return LAYERS.includes(first) ? first : "root";
};

const packageName = (specifier) => {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
};

const isCdktf = (pkg) => pkg === "cdktf" || pkg.startsWith("@cdktf/") || pkg === "cdktn" || pkg.startsWith("@cdktn/");

/** Returns a message when `from` may not import `specifier`, else null. */
export const violation = (root, fromFile, specifier) => {
  const from = layerOf(root, fromFile);
  if (from === null) return null;
  if (specifier.startsWith(".") || path.isAbsolute(specifier)) {
    const to = layerOf(root, path.resolve(path.dirname(fromFile), specifier));
    if (to === null) return `${from}/ imports ${specifier}, outside the project`;
    if (from === "domain" && to !== "domain") return `domain/ is pure: it may import only domain/, fp-ts and io-ts, not ${to}/`;
    if (from === "adapters" && (to === "handlers" || to === "local" || to === "infra"))
      return `adapters/ may not import ${to}/ (dependencies point inwards: handlers -> adapters -> domain)`;
    if (to === "local" && !["local", "__tests__", "bench"].includes(from)) return `only local/ and tests may import local/, not ${from}/`;
    if (from === "handlers" && (to === "infra" || to === "main")) return `handlers/ may not import ${to}`;
    if (from === "infra" && (to === "adapters" || to === "handlers" || to === "local"))
      return `infra/ builds resources; it may not import ${to}/ code (share constants through domain/ instead)`;
    return null;
  }
  if (specifier.startsWith("node:") && from === "domain") return `domain/ is pure: no Node built-ins (${specifier})`;
  const pkg = packageName(specifier);
  if (from === "domain" && pkg !== "fp-ts" && pkg !== "io-ts") return `domain/ is pure: it may import only fp-ts and io-ts, not ${pkg}`;
  if (isCdktf(pkg) && !["infra", "main", "__tests__"].includes(from)) return `${pkg} belongs in infra/ and main.ts only, not ${from}/`;
  return null;
};

export default {
  meta: { type: "problem", docs: { description: "enforce the project's layer boundaries" }, schema: [] },
  create(context) {
    const root = context.cwd;
    const check = (node, source) => {
      if (source?.type !== "Literal" || typeof source.value !== "string") return;
      const message = violation(root, context.filename, source.value);
      if (message !== null) context.report({ node: source, message });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
      TSImportEqualsDeclaration: (node) =>
        node.moduleReference.type === "TSExternalModuleReference" && check(node, node.moduleReference.expression),
      CallExpression: (node) =>
        node.callee.type === "Identifier" && node.callee.name === "require" && check(node, node.arguments[0]),
    };
  },
};
