import type { APIGatewayProxyEvent } from "aws-lambda";
import { makePlaceOrderHandler, placeOrderDeps } from "../../handlers/place-order";
import { postOrder } from "../support/api-gateway";
import { migratedDatabase, type TestDatabase } from "../support/database";

let database: TestDatabase;

beforeAll(async () => {
  database = await migratedDatabase(2);
});

afterAll(async () => {
  await database.drop();
});

const line = (id_product: unknown, quantity: unknown) => ({ id_product, quantity });

interface BadRequest {
  readonly name: string;
  readonly event: APIGatewayProxyEvent;
  readonly status: number;
  readonly code: string;
  /** Paths the response must list, when the failure is a field's. */
  readonly paths?: ReadonlyArray<string>;
}

const bad = (name: string, body: unknown, status: number, code: string, paths?: ReadonlyArray<string>): BadRequest => ({
  name,
  event: postOrder(body),
  status,
  code,
  ...(paths === undefined ? {} : { paths }),
});

const corpus: ReadonlyArray<BadRequest> = [
  bad("broken JSON", '{"id_client": 1, "products": [', 400, "MalformedJson"),
  bad("empty body", "", 400, "MalformedJson"),
  bad("JSON null", "null", 400, "ValidationFailed", ["$"]),
  bad("JSON array", "[1,2]", 400, "ValidationFailed", ["$"]),
  bad("JSON string", '"order"', 400, "ValidationFailed", ["$"]),
  bad("missing id_client", { products: [line(1, 1)] }, 400, "ValidationFailed", ["id_client"]),
  bad("id_client as a string", { id_client: "1", products: [line(1, 1)] }, 400, "ValidationFailed", ["id_client"]),
  bad("fractional id_client", { id_client: 1.5, products: [line(1, 1)] }, 400, "ValidationFailed", ["id_client"]),
  bad("zero id_client", { id_client: 0, products: [line(1, 1)] }, 400, "ValidationFailed", ["id_client"]),
  bad("id_client beyond integer", { id_client: 2 ** 31, products: [line(1, 1)] }, 400, "ValidationFailed", ["id_client"]),
  bad("missing products", { id_client: 1 }, 400, "ValidationFailed", ["products"]),
  bad("products not an array", { id_client: 1, products: { id_product: 1, quantity: 1 } }, 400, "ValidationFailed", ["products"]),
  bad("empty product list", { id_client: 1, products: [] }, 400, "ValidationFailed", ["products"]),
  bad("101 product lines", { id_client: 1, products: Array.from({ length: 101 }, (_, i) => line(i + 1, 1)) }, 400, "ValidationFailed", ["products"]),
  bad("a line that is a number", { id_client: 1, products: [7] }, 400, "ValidationFailed", ["products[0]"]),
  bad("missing quantity", { id_client: 1, products: [{ id_product: 1 }] }, 400, "ValidationFailed", ["products[0].quantity"]),
  bad("zero quantity", { id_client: 1, products: [line(1, 0)] }, 400, "ValidationFailed", ["products[0].quantity"]),
  bad("negative quantity", { id_client: 1, products: [line(1, -3)] }, 400, "ValidationFailed", ["products[0].quantity"]),
  bad("fractional quantity", { id_client: 1, products: [line(1, 2.5)] }, 400, "ValidationFailed", ["products[0].quantity"]),
  bad("huge quantity", { id_client: 1, products: [line(1, 1e9)] }, 400, "ValidationFailed", ["products[0].quantity"]),
  bad("quantity as a string", { id_client: 1, products: [line(1, "2")] }, 400, "ValidationFailed", ["products[0].quantity"]),
  bad("quantity null", { id_client: 1, products: [line(1, null)] }, 400, "ValidationFailed", ["products[0].quantity"]),
  bad("id_product as a boolean", { id_client: 1, products: [line(true, 1)] }, 400, "ValidationFailed", ["products[0].id_product"]),
  bad("extra field at the root", { id_client: 1, products: [line(1, 1)], coupon: "FREE" }, 400, "ValidationFailed", ["coupon"]),
  bad("extra field in a line", { id_client: 1, products: [{ id_product: 1, quantity: 1, price: 0 }] }, 400, "ValidationFailed", ["products[0].price"]),
  bad("duplicate product lines", { id_client: 1, products: [line(1, 1), line(1, 2)] }, 400, "ValidationFailed", ["products[1].id_product"]),
  bad("several problems at once", { id_client: -1, products: [line(1, 0), line("x", 1)], note: 1 }, 400, "ValidationFailed", [
    "id_client",
    "products[0].quantity",
    "products[1].id_product",
    "note",
  ]),
  bad("unknown client", { id_client: 999, products: [line(1, 1)] }, 404, "ClientNotFound"),
  bad("unknown product", { id_client: 1, products: [line(1, 1), line(404, 1)] }, 404, "ProductNotFound"),
  {
    name: "wrong content type",
    event: postOrder({ id_client: 1, products: [line(1, 1)] }, { "Content-Type": "text/plain" }),
    status: 415,
    code: "UnsupportedMediaType",
  },
  {
    name: "form-encoded body",
    event: postOrder("id_client=1", { "Content-Type": "application/x-www-form-urlencoded" }),
    status: 415,
    code: "UnsupportedMediaType",
  },
  bad("body over 64 KiB", { id_client: 1, products: [line(1, 1)], padding: "x".repeat(70_000) }, 413, "PayloadTooLarge"),
  {
    name: "invalid base64 JSON",
    event: { ...postOrder(""), isBase64Encoded: true, body: Buffer.from("{not json").toString("base64") },
    status: 400,
    code: "MalformedJson",
  },
  {
    name: "idempotency key with spaces",
    event: postOrder({ id_client: 1, products: [line(1, 1)] }, { "Idempotency-Key": "two words" }),
    status: 400,
    code: "ValidationFailed",
    paths: ["headers.Idempotency-Key"],
  },
  {
    name: "a bad idempotency key and bad fields, all reported",
    event: postOrder({ id_client: 0, products: [line(1, 1)] }, { "Idempotency-Key": "x".repeat(256) }),
    status: 400,
    code: "ValidationFailed",
    paths: ["id_client", "headers.Idempotency-Key"],
  },
];

describe("POST /orders rejects bad requests with the right status and code, writing nothing", () => {
  const handler = makePlaceOrderHandler(async () => placeOrderDeps(database.db));

  it("answers each 4xx code one request can earn, each with the status http.ts maps it to", async () => {
    // DuplicateRequest takes two requests: place-order.test.ts covers it.
    const seen = new Map<string, number>();
    for (const { event } of corpus) {
      const response = await handler(event);
      seen.set((JSON.parse(response.body) as { code: string }).code, response.statusCode);
    }
    expect(Object.fromEntries(seen)).toEqual({
      MalformedJson: 400,
      ValidationFailed: 400,
      ClientNotFound: 404,
      ProductNotFound: 404,
      PayloadTooLarge: 413,
      UnsupportedMediaType: 415,
    });
  });

  it.each(corpus)("$name -> $status $code", async ({ event, status, code, paths }) => {
    const before = await database.counts();
    const response = await handler(event);
    const result = JSON.parse(response.body) as { statusCode: number; code: string; body: string; issues?: Array<{ path: string }> };

    expect(response.statusCode).toBe(status);
    expect(result.statusCode).toBe(status);
    expect(result.code).toBe(code);
    expect(typeof result.body).toBe("string");
    if (paths !== undefined) expect(result.issues?.map((issue) => issue.path).sort()).toEqual([...paths].sort());
    expect(await database.counts()).toEqual(before);
  });
});
