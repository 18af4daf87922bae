import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import * as TE from "fp-ts/TaskEither";
import { MAX_ID } from "../../domain/order";
import type { PlaceOrderDeps } from "../../domain/place-order";
import type { OrderStore } from "../../domain/ports";
import { decodeClientIdParam } from "../../handlers/get-client";
import { decodePlaceOrderRequest, makePlaceOrderHandler } from "../../handlers/place-order";
import { postOrder } from "../support/api-gateway";

/**
 * Each handler turns its HTTP request into the use case's typed input once: wire names
 * (`id_client`, `id_product`) stop at the handler's codec, the domain sees its own names.
 */

describe("the POST /orders request codec", () => {
  it("maps the wire names onto the domain's command, with the key", () => {
    const event = postOrder({ id_client: 3, products: [{ id_product: 2, quantity: 4 }, { id_product: 1, quantity: 1 }] }, { "Idempotency-Key": "k-1" });
    expect(decodePlaceOrderRequest(event)).toEqual(
      E.right({
        command: { clientId: 3, lines: [{ productId: 2, quantity: 4 }, { productId: 1, quantity: 1 }] },
        idempotencyKey: O.some("k-1"),
      }),
    );
  });

  it("reports the body's problems, a repeated line and a bad key together, the key last", () => {
    const event = postOrder(
      { id_client: 0, products: [{ id_product: 1, quantity: 1 }, { id_product: 1, quantity: 2 }], note: "x" },
      { "Idempotency-Key": "two words" },
    );
    const decoded = decodePlaceOrderRequest(event);
    if (E.isRight(decoded) || decoded.left.code !== "ValidationFailed") throw new Error("expected ValidationFailed");
    expect(decoded.left.issues.map(({ path, code }) => [path, code])).toEqual([
      ["id_client", "out_of_range"],
      ["note", "unknown_field"],
      ["products[1].id_product", "duplicate"],
      ["headers.Idempotency-Key", "invalid_type"],
    ]);
  });

  it("answers the envelope's problem before the key's", () => {
    const event = postOrder("{not json", { "Idempotency-Key": "x".repeat(256) });
    expect(decodePlaceOrderRequest(event)).toEqual(E.left(expect.objectContaining({ code: "MalformedJson" })));
  });

  it("hands the store the decoded command, and never builds the dependencies for a bad request", async () => {
    const seen: Array<Parameters<OrderStore["placeOrder"]>[0]> = [];
    const orders: OrderStore = {
      placeOrder: (idempotency) => {
        seen.push(idempotency);
        return TE.right({ orderId: "o-1", clientId: 1, totalCents: 150_000 as never, placedAt: 1, replayed: false });
      },
    };
    const deps = jest.fn(async (): Promise<PlaceOrderDeps> => ({ orders, clock: { now: () => new Date(0) }, ids: { uuid: () => "u" as never } }));
    const handler = makePlaceOrderHandler(deps);

    expect((await handler(postOrder({ id_client: 1, products: [] }))).statusCode).toBe(400);
    expect(deps).not.toHaveBeenCalled();

    const ok = await handler(postOrder({ id_client: 1, products: [{ id_product: 1, quantity: 1 }] }, { "Idempotency-Key": "k" }));
    expect(ok.statusCode).toBe(200);
    expect(seen).toEqual([O.some({ key: "k", fingerprint: "[1,[[1,1]]]" })]);
  });
});

describe("the GET /clients/{id_client} path parameter", () => {
  it.each<readonly [string, number]>([
    ["1", 1],
    ["42", 42],
    [String(MAX_ID), MAX_ID],
  ])("%p is client %p", (raw, id) => {
    expect(decodeClientIdParam(raw)).toEqual(E.right(id));
  });

  it.each<readonly [string, string]>([
    ["0", "out_of_range"],
    [String(MAX_ID + 1), "out_of_range"],
    ["99999999999", "out_of_range"],
    ["01", "out_of_range"],
    ["-1", "invalid_type"],
    ["1.5", "invalid_type"],
    ["1e3", "invalid_type"],
    ["abc", "invalid_type"],
    ["", "invalid_type"],
  ])("%p is refused as %p at id_client", (raw, code) => {
    expect(decodeClientIdParam(raw)).toEqual(
      E.left({ code: "ValidationFailed", issues: [{ path: "id_client", code, message: `expected a client id from 1 to ${MAX_ID}, got "${raw}"` }] }),
    );
  });
});
