import * as E from "fp-ts/Either";
import { pipe } from "fp-ts/function";
import * as t from "io-ts";
import { PathReporter } from "io-ts/PathReporter";
import type { OutboxRowImage } from "../adapters/cdc/dms-record-render";

/*
 * The outbox row of a pgoutput change, as pg-logical-replication hands it over: each column
 * already parsed by pg's type parsers (`uuid` and `text` as strings, `int4` a number, `jsonb`
 * the JSON value, `timestamptz` a `Date`). Decoded, not cast: a column the table lost or
 * retyped shows up as a reason instead of as a record that claims to be an outbox row.
 */

const DateValue = new t.Type<Date, Date, unknown>(
  "Date",
  (u): u is Date => u instanceof Date && !Number.isNaN(u.getTime()),
  (u, c) => (u instanceof Date && !Number.isNaN(u.getTime()) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const WalOutboxRow = t.type(
  {
    id: t.string,
    aggregate_type: t.string,
    aggregate_id: t.string,
    event_type: t.string,
    event_version: t.Int,
    payload: t.unknown,
    // pg parses timestamptz into a Date; its text form is accepted as the renderer passes it on.
    occurred_at: t.union([DateValue, t.string]),
  },
  "WalOutboxRow",
);

const decodeWith =
  <A>(codec: t.Decoder<unknown, A>) =>
  (raw: unknown): E.Either<string, A> =>
    pipe(
      codec.decode(raw),
      E.mapLeft((errors) => PathReporter.report(E.left(errors)).join("; ")),
    );

/** An inserted outbox row (pgoutput's `new` tuple), or why it is not one. */
export const decodeWalOutboxRow: (raw: unknown) => E.Either<string, OutboxRowImage> = decodeWith(WalOutboxRow);
