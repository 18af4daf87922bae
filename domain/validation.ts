import * as E from "fp-ts/Either";
import * as RA from "fp-ts/ReadonlyArray";
import type { ReadonlyNonEmptyArray } from "fp-ts/ReadonlyNonEmptyArray";
import { pipe } from "fp-ts/function";
import * as t from "io-ts";
import type { Issue, IssueCode } from "./errors";

/**
 * io-ts codecs that report *every* problem of an input as an `Issue` with a stable code and
 * a path like `products[0].quantity`. Codecs here put `code: message` in io-ts's failure
 * message; `toIssues` reads it back. Failures raised by io-ts itself (a missing key, a
 * value of the wrong type) carry no message and are classified from the value.
 */

const fail = (u: unknown, c: t.Context, code: IssueCode, message: string): t.Validation<never> =>
  t.failure(u, c, `${code}: ${message}`);

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** An integer in [min, max], refusing strings, floats and non-finite numbers. */
export const boundedInt = (name: string, min: number, max: number): t.Type<number, number, unknown> =>
  new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === "number" && Number.isInteger(u) && u >= min && u <= max,
    (u, c) =>
      typeof u !== "number" || !Number.isFinite(u)
        ? fail(u, c, "invalid_type", `expected an integer from ${min} to ${max}`)
        : !Number.isInteger(u)
          ? fail(u, c, "not_integer", `expected a whole number, got ${u}`)
          : u < min || u > max
            ? fail(u, c, "out_of_range", `expected an integer from ${min} to ${max}, got ${u}`)
            : t.success(u),
    t.identity,
  );

/** Like `t.type`, but an object with a key it does not know is invalid (each such key is reported). */
export const strictType = <P extends t.Props>(props: P, name: string): t.Type<t.TypeOf<t.TypeC<P>>, t.OutputOf<t.TypeC<P>>, unknown> => {
  const base = t.type(props);
  return new t.Type(
    name,
    (u): u is t.TypeOf<t.TypeC<P>> => base.is(u) && Object.keys(u).every((k) => k in props),
    (u, c) => {
      if (!isRecord(u)) return fail(u, c, "invalid_type", "expected a JSON object");
      const unknownKeys: t.Errors = Object.keys(u)
        .filter((key) => !Object.prototype.hasOwnProperty.call(props, key))
        .map((key) => ({
          value: u[key],
          context: [...c, { key, type: t.unknown, actual: u[key] }],
          message: `unknown_field: ${key} is not a field of ${name}`,
        }));
      const known = base.validate(u, c);
      if (unknownKeys.length === 0) return known;
      return E.left([...(E.isLeft(known) ? known.left : []), ...unknownKeys]);
    },
    base.encode,
  );
};

/**
 * An array of `item` with `min`..`max` elements, `min` at least 1, so what it decodes is
 * non-empty by its type; element problems are all reported.
 */
export const boundedArray = <C extends t.Mixed>(
  item: C,
  min: number,
  max: number,
  name: string,
): t.Type<ReadonlyNonEmptyArray<t.TypeOf<C>>, ReadonlyArray<t.OutputOf<C>>, unknown> => {
  if (!(Number.isInteger(min) && min >= 1 && min <= max)) throw new RangeError(`${name}: bounds ${min}..${max} allow no non-empty array`);
  const base = t.readonlyArray(item);
  return new t.Type(
    name,
    (u): u is ReadonlyNonEmptyArray<t.TypeOf<C>> => base.is(u) && u.length >= min && u.length <= max,
    (u, c) => {
      if (!Array.isArray(u)) return fail(u, c, "invalid_type", "expected a JSON array");
      if (u.length < min) return fail(u, c, "empty", `expected at least ${min} element(s)`);
      if (u.length > max) return fail(u, c, "too_many", `expected at most ${max} elements, got ${u.length}`);
      // The second `empty` is never reached (the length is checked above); it lets the type
      // say non-empty without a cast.
      return pipe(
        base.validate(u, c),
        E.chain((items) => (RA.isNonEmpty(items) ? t.success(items) : fail(u, c, "empty", `expected at least ${min} element(s)`))),
      );
    },
    base.encode,
  );
};

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

/** The offending field of the decoded value; union and intersection members add no segment. */
const pathOf = (context: t.Context): string => {
  // context[i] is the parent of the entry at i + 1. An entry is an index only when its
  // parent is an array: a key "0" of an object is a field.
  const path = context
    .slice(1)
    .map((entry, i) => ({ entry, parent: context[i] }))
    .filter(({ parent }) => !isCombinator(parent?.type))
    .map(({ entry, parent }) => (Array.isArray(parent?.actual) ? `[${entry.key}]` : `.${entry.key}`))
    .join("")
    .replace(/^\./, "");
  return path === "" ? "$" : path;
};

const ISSUE_CODES: ReadonlyArray<IssueCode> = [
  "required",
  "invalid_type",
  "not_integer",
  "out_of_range",
  "empty",
  "too_many",
  "duplicate",
  "unknown_field",
];

/**
 * A codec's own message is kept as the codec wrote it (`out_of_range: expected ...`, or a
 * message of an adapter's codec that names no code, which counts as `invalid_type`); a key
 * that is missing reads `missing`; io-ts's own failures read `expected <type>, got <value>`.
 */
const toIssue = (error: t.ValidationError): Issue => {
  const path = pathOf(error.context);
  const separator = error.message?.indexOf(": ") ?? -1;
  const prefix = error.message?.slice(0, separator) as IssueCode | undefined;
  const code = prefix !== undefined && ISSUE_CODES.includes(prefix) ? prefix : undefined;
  // A missing key reaches the field's codec as `undefined`, which our codecs report as a
  // type error; it is a missing field (an unknown key is reported whatever its value).
  if (error.value === undefined && code !== "unknown_field") return { path, code: "required", message: "missing" };
  if (error.message !== undefined) return { path, code: code ?? "invalid_type", message: error.message };
  const expected = error.context[error.context.length - 1]?.type.name ?? "a value";
  return { path, code: "invalid_type", message: `expected ${expected}, got ${preview(error.value)}` };
};

/** Every problem once, in input order. */
export const toIssues = (errors: t.Errors): ReadonlyArray<Issue> => {
  const seen = new Set<string>();
  return errors.map(toIssue).filter((issue) => {
    const key = `${issue.path}\u0000${issue.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

/**
 * The one-line rendering of decode errors that every log, quarantine reason and dead-letter
 * reason uses, e.g. `data.event_type: expected string, got null; data.id: missing`: each
 * issue as `path: message` (the message alone at the root), so the same bad input reads
 * the same wherever it is refused.
 */
export const reasonOf = (errors: t.Errors): string =>
  toIssues(errors)
    .map((issue) => (issue.path === "$" ? issue.message : `${issue.path}: ${issue.message}`))
    .join("; ");

export const decodeWith =
  <A>(codec: t.Decoder<unknown, A>) =>
  (u: unknown): E.Either<ReadonlyArray<Issue>, A> =>
    pipe(codec.decode(u), E.mapLeft(toIssues));

/**
 * `codec.decode`, with the type guard tried first. For a codec that never changes what it
 * accepts (no member converts: only structs, literals, brands, unions and checks), an input
 * its guard accepts decodes to itself (or to an equal copy), so the guard's yes is the whole
 * answer, without the contexts and arrays a decode allocates on the way. Anything the guard
 * refuses is decoded, which explains every failure exactly as before. Never wrap a
 * converting codec (a string read as a number, JSON text parsed): its guard checks the
 * output, not the input.
 */
export const guardedDecode =
  <A, O>(codec: t.Type<A, O, unknown>) =>
  (u: unknown): t.Validation<A> =>
    codec.is(u) ? E.right(u) : codec.decode(u);
