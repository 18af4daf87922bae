import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import { createClientViewStore, viewKey } from "../../adapters/redis/client-view-store.redis";
import { makePlaceOrderHandler, placeOrderDeps } from "../../handlers/place-order";
import { reprojectAll } from "../../handlers/support/reproject-views";
import { postOrder } from "../support/api-gateway";
import { migratedDatabase, type TestDatabase } from "../support/database";
import { freshRedis, type TestRedis } from "../support/redis";

let database: TestDatabase;
let redis: TestRedis;

beforeAll(async () => {
  database = await migratedDatabase(2);
  redis = freshRedis();
  const placeOrder = makePlaceOrderHandler(async () => placeOrderDeps(database.db));
  for (const id of [1, 2, 3]) {
    expect((await placeOrder(postOrder({ id_client: id, products: [{ id_product: 1, quantity: 1 }] }))).statusCode).toBe(200);
  }
});

afterAll(async () => {
  await redis.flush();
  await redis.close();
  await database.drop();
});

describe("reproject stopped through its signal", () => {
  it("writes no page after the stop and sets no generation, so the read model stays unavailable", async () => {
    const views = createClientViewStore(redis.connect());
    expect(await views.completeRebuild("before")()).toEqual(E.right(undefined));
    const controller = new AbortController();
    await expect(
      reprojectAll({
        db: database.db,
        views,
        pageSize: 1,
        signal: controller.signal,
        onProgress: () => controller.abort(new Error("deadline")),
      }),
    ).rejects.toThrow("reproject stopped after 1 clients");
    const written = (await redis.keys()).filter((key) => key.startsWith("client:"));
    expect(written).toEqual([viewKey(1)]);
    expect(await views.generation()()).toEqual(E.right(O.none));

    const summary = await reprojectAll({ db: database.db, views, pageSize: 1 });
    expect(summary.clients).toBe(3);
    expect(await views.generation()()).toEqual(E.right(O.some(summary.generation)));
  });
});
