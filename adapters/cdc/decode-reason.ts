import type * as t from "io-ts";

/**
 * io-ts errors as one line a human can act on when reading the quarantine queue, e.g.
 * `data.event_type: expected string, got null`. The path names the offending field of the
 * decoded value; union and intersection members add no path segment of their own.
 */

const MAX_PREVIEW = 80;

/** A short rendering of a value for a reason: enough to recognise it, never the whole record. */
export const preview = (value: unknown): string => {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_PREVIEW ? `${text.slice(0, MAX_PREVIEW)}...` : text;
};

const isCombinator = (type: t.Decoder<unknown, unknown> | undefined): boolean => {
  const tag = (type as { readonly _tag?: string } | undefined)?._tag;
  return tag === "UnionType" || tag === "IntersectionType";
};

const pathOf = (context: t.Context): string =>
  context
    .slice(1)
    // context[i] is the parent of the entry at i + 1.
    .filter((_, i) => !isCombinator(context[i]?.type))
    .map((entry) => entry.key)
    .join(".");

const describe = (error: t.ValidationError): string => {
  const path = pathOf(error.context);
  const where = path === "" ? "" : `${path}: `;
  if (error.message !== undefined) return `${where}${error.message}`;
  if (error.value === undefined) return `${where}missing`;
  const expected = error.context[error.context.length - 1]?.type.name ?? "a value";
  return `${where}expected ${expected}, got ${preview(error.value)}`;
};

/** Every problem once, in the order io-ts found them. */
export const reasonOf = (errors: t.Errors): string => [...new Set(errors.map(describe))].join("; ");
