import * as E from "fp-ts/Either";
import { cents } from "../domain/money";
import { priceOrder } from "../domain/order";
import { decodePlaceOrderBody } from "../handlers/place-order";
import { measure, ratio } from "./measure";

/** Validating and pricing a request, against the cost of merely parsing its JSON. */
export const domainBench = async (): Promise<ReadonlyArray<string>> => {
  const body = JSON.stringify({
    id_client: 1,
    products: Array.from({ length: 20 }, (_, i) => ({ id_product: i + 1, quantity: (i % 7) + 1 })),
  });
  const catalog = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `p${i}`, priceCents: cents(1000 + i) }));
  const baseline = await measure("JSON.parse of the body", () => JSON.parse(body));
  const subject = await measure("JSON.parse + validate + price", () => {
    const command = decodePlaceOrderBody(JSON.parse(body));
    if (E.isLeft(command)) throw new Error("benchmark input is invalid");
    return priceOrder(command.right, catalog);
  });
  return [ratio(subject, baseline)];
};
