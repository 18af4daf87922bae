import * as E from "fp-ts/Either";
import type { IssueCode } from "../../domain/errors";
import { decodePlaceOrderBody } from "../../handlers/place-order";

/**
 * Every rule of the POST /orders body, one row each. Expected codes and paths are written
 * out by hand from the contract (IssueCode in domain/errors.ts, paths like
 * `products[0].quantity`, `$` for the root); messages are free text and only required to exist.
 */

const line = (id_product: unknown, quantity: unknown) => ({ id_product, quantity });
const validLine = line(1, 1);
const validBody = { id_client: 1, products: [validLine] };

const withClient = (id_client: unknown) => ({ ...validBody, id_client });
const withProducts = (products: unknown) => ({ ...validBody, products });
const withLine = (productLine: unknown) => withProducts([productLine]);
const withProductId = (id_product: unknown) => withLine(line(id_product, 1));
const withQuantity = (quantity: unknown) => withLine(line(1, quantity));
const without = <T extends object>(value: T, key: keyof T) => {
  const copy: Partial<T> = { ...value };
  delete copy[key];
  return copy;
};
/** `count` valid lines for distinct products 1..count. */
const distinctLines = (count: number) => Array.from({ length: count }, (_, index) => line(index + 1, 1));

/** The Left a body with exactly these problems must produce, in this order. */
const rejected = (...issues: ReadonlyArray<readonly [path: string, code: IssueCode]>) =>
  E.left({
    code: "ValidationFailed",
    issues: issues.map(([path, code]) => ({ path, code, message: expect.any(String) })),
  });

describe("decodePlaceOrderBody: one rule, one row", () => {
  test.each<readonly [name: string, body: unknown, path: string, code: IssueCode]>([
    // the body itself
    ["body is null", null, "$", "invalid_type"],
    ["body is an array", [validBody], "$", "invalid_type"],
    ["body is a string (JSON text not parsed)", JSON.stringify(validBody), "$", "invalid_type"],
    ["body is a number", 42, "$", "invalid_type"],
    ["body is a boolean", true, "$", "invalid_type"],
    // id_client
    ["id_client is missing", without(validBody, "id_client"), "id_client", "required"],
    ["id_client is a numeric string", withClient("1"), "id_client", "invalid_type"],
    ["id_client is a float", withClient(1.5), "id_client", "not_integer"],
    ["id_client is zero", withClient(0), "id_client", "out_of_range"],
    ["id_client is negative", withClient(-1), "id_client", "out_of_range"],
    ["id_client is above the PostgreSQL integer range", withClient(2_147_483_648), "id_client", "out_of_range"],
    ["id_client is a boolean", withClient(true), "id_client", "invalid_type"],
    ["id_client is null", withClient(null), "id_client", "invalid_type"],
    ["id_client is an object", withClient({ id: 1 }), "id_client", "invalid_type"],
    // products
    ["products is missing", without(validBody, "products"), "products", "required"],
    ["products is an object", withProducts(validLine), "products", "invalid_type"],
    ["products is a string", withProducts("1x1"), "products", "invalid_type"],
    ["products is null", withProducts(null), "products", "invalid_type"],
    ["products is empty", withProducts([]), "products", "empty"],
    ["products has more than 100 lines", withProducts(distinctLines(101)), "products", "too_many"],
    // a product line
    ["a line is a number", withLine(5), "products[0]", "invalid_type"],
    ["a line is null", withLine(null), "products[0]", "invalid_type"],
    ["a line is an array", withLine([1, 1]), "products[0]", "invalid_type"],
    // id_product
    ["id_product is missing", withLine({ quantity: 1 }), "products[0].id_product", "required"],
    ["id_product is a numeric string", withProductId("1"), "products[0].id_product", "invalid_type"],
    ["id_product is null", withProductId(null), "products[0].id_product", "invalid_type"],
    ["id_product is zero", withProductId(0), "products[0].id_product", "out_of_range"],
    ["id_product is negative", withProductId(-3), "products[0].id_product", "out_of_range"],
    ["id_product is fractional", withProductId(2.5), "products[0].id_product", "not_integer"],
    ["id_product is above the PostgreSQL integer range", withProductId(2_147_483_648), "products[0].id_product", "out_of_range"],
    // quantity
    ["quantity is missing", withLine({ id_product: 1 }), "products[0].quantity", "required"],
    ["quantity is zero", withQuantity(0), "products[0].quantity", "out_of_range"],
    ["quantity is minus zero (JSON -0)", JSON.parse('{"id_client":1,"products":[{"id_product":1,"quantity":-0}]}'), "products[0].quantity", "out_of_range"],
    ["quantity is negative", withQuantity(-1), "products[0].quantity", "out_of_range"],
    ["quantity is fractional", withQuantity(1.5), "products[0].quantity", "not_integer"],
    ["quantity is above 1000", withQuantity(1001), "products[0].quantity", "out_of_range"],
    ["quantity is a numeric string", withQuantity("2"), "products[0].quantity", "invalid_type"],
    ["quantity is null", withQuantity(null), "products[0].quantity", "invalid_type"],
    ["quantity is a boolean", withQuantity(true), "products[0].quantity", "invalid_type"],
    // JSON.parse turns an overflowing literal into Infinity, so non-finite numbers can reach us
    ["quantity is 1e400 (Infinity once parsed)", JSON.parse('{"id_client":1,"products":[{"id_product":1,"quantity":1e400}]}'), "products[0].quantity", "invalid_type"],
    ["quantity is NaN", withQuantity(Number.NaN), "products[0].quantity", "invalid_type"],
    // unknown fields: reported at the extra key's own path
    ["an unknown field at the root", { ...validBody, coupon: "FREE" }, "coupon", "unknown_field"],
    ["an unknown field in a line", withLine({ ...validLine, price: 1 }), "products[0].price", "unknown_field"],
    ["an unknown field in a later line", withProducts([validLine, { ...line(2, 1), note: null }]), "products[1].note", "unknown_field"],
    ["an unknown numeric key at the root is a field, not an index", { ...validBody, 0: 1 }, "0", "unknown_field"],
    // duplicates
    ["the same product on two lines", withProducts([line(7, 1), line(7, 2)]), "products[1].id_product", "duplicate"],
  ])("%s", (_name, body, path, code) => {
    expect(decodePlaceOrderBody(body)).toEqual(rejected([path, code]));
  });
});

describe("decodePlaceOrderBody: bounds that are accepted", () => {
  test.each<readonly [name: string, body: unknown, clientId: number, lines: ReadonlyArray<readonly [number, number]>]>([
    ["the smallest ids and quantity", withLine(line(1, 1)), 1, [[1, 1]]],
    ["the largest id_client", withClient(2_147_483_647), 2_147_483_647, [[1, 1]]],
    ["the largest id_product", withProductId(2_147_483_647), 1, [[2_147_483_647, 1]]],
    ["the largest quantity", withQuantity(1000), 1, [[1, 1000]]],
    ["an integer written as a float literal", JSON.parse('{"id_client":3.0,"products":[{"id_product":1,"quantity":2.0}]}'), 3, [[1, 2]]],
  ])("%s", (_name, body, clientId, lines) => {
    expect(decodePlaceOrderBody(body)).toEqual(
      E.right({ clientId, lines: lines.map(([productId, quantity]) => ({ productId, quantity })) }),
    );
  });

  test("exactly 100 lines are accepted, in order", () => {
    const result = decodePlaceOrderBody(withProducts(distinctLines(100)));
    expect(result).toEqual(
      E.right({ clientId: 1, lines: Array.from({ length: 100 }, (_, index) => ({ productId: index + 1, quantity: 1 })) }),
    );
  });
});

describe("decodePlaceOrderBody: several problems", () => {
  test("every repeat of a product is reported at its own path", () => {
    const body = withProducts([line(4, 1), line(5, 1), line(4, 2), line(4, 3), line(5, 9)]);
    expect(decodePlaceOrderBody(body)).toEqual(
      rejected(
        ["products[2].id_product", "duplicate"],
        ["products[3].id_product", "duplicate"],
        ["products[4].id_product", "duplicate"],
      ),
    );
  });

  test("a bad id_client, a bad quantity in line 0 and an unknown field in line 1 are all reported", () => {
    const body = { id_client: "1", products: [line(1, 1.5), { ...line(2, 1), extra: true }] };
    expect(decodePlaceOrderBody(body)).toEqual(
      rejected(["id_client", "invalid_type"], ["products[0].quantity", "not_integer"], ["products[1].extra", "unknown_field"]),
    );
  });

  test("problems in several lines and both fields of a line are all reported", () => {
    const body = { id_client: 0, products: [line(0, 0), validLine, line("2", 1001), 7] };
    expect(decodePlaceOrderBody(body)).toEqual(
      rejected(
        ["id_client", "out_of_range"],
        ["products[0].id_product", "out_of_range"],
        ["products[0].quantity", "out_of_range"],
        ["products[2].id_product", "invalid_type"],
        ["products[2].quantity", "out_of_range"],
        ["products[3]", "invalid_type"],
      ),
    );
  });

  test("an empty object reports both required fields", () => {
    expect(decodePlaceOrderBody({})).toEqual(rejected(["id_client", "required"], ["products", "required"]));
  });

  test("unknown fields are reported together with the missing ones", () => {
    const result = decodePlaceOrderBody({ clientId: 1, products: [validLine] });
    expect(result).toEqual(rejected(["id_client", "required"], ["clientId", "unknown_field"]));
  });
});

describe("decodePlaceOrderBody: a valid request", () => {
  test("maps to the command, keeping the lines in request order", () => {
    const body = JSON.parse('{"products":[{"quantity":3,"id_product":2},{"id_product":1,"quantity":1}],"id_client":42}');
    expect(decodePlaceOrderBody(body)).toEqual(
      E.right({
        clientId: 42,
        lines: [
          { productId: 2, quantity: 3 },
          { productId: 1, quantity: 1 },
        ],
      }),
    );
  });

  test("the command carries no wire names", () => {
    const result = decodePlaceOrderBody(validBody);
    expect(result).toStrictEqual(E.right({ clientId: 1, lines: [{ productId: 1, quantity: 1 }] }));
  });
});

describe("duplicate lines next to other problems", () => {
  it("reports the repeat together with an invalid id_client and an invalid quantity", () => {
    const result = decodePlaceOrderBody({
      id_client: "one",
      products: [
        { id_product: 4, quantity: 1 },
        { id_product: 4, quantity: 0 },
      ],
    });
    expect(E.isLeft(result) && result.left.code === "ValidationFailed" && result.left.issues.map((i) => [i.path, i.code])).toEqual([
      ["id_client", "invalid_type"],
      ["products[1].quantity", "out_of_range"],
      ["products[1].id_product", "duplicate"],
    ]);
  });
});
