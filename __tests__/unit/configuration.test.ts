import { DEFAULT_POOL_MAX, poolOptionsFor, readDatabaseConfig, readDatabaseSettings, readPoolMax } from "../../adapters/postgres/config";
import { readRedisConfig } from "../../adapters/redis/connection";

describe("database configuration", () => {
  it("prefers DATABASE_URL", () => {
    expect(readDatabaseConfig({ DATABASE_URL: "postgres://x/y", DB_HOST: "h" })).toEqual({ kind: "url", url: "postgres://x/y" });
  });

  it("reads the AWS settings, with defaults for port and database", () => {
    expect(readDatabaseConfig({ DB_HOST: "db.internal", DB_SECRET_ARN: "arn:s" })).toEqual({
      kind: "secret",
      host: "db.internal",
      port: 5432,
      database: "postgres",
      secretArn: "arn:s",
    });
  });

  it.each([
    [{}, /DB_HOST and DB_SECRET_ARN/],
    [{ DB_HOST: "h" }, /DB_SECRET_ARN/],
    [{ DB_HOST: "h", DB_SECRET_ARN: "s", DB_PORT: "99999" }, /DB_PORT is not a port/],
  ])("fails loudly on %p", (env, message) => {
    expect(() => readDatabaseConfig(env)).toThrow(message);
  });

  it("asks the secret for the password at each new connection, so a rotation is picked up", async () => {
    let password = "first";
    const options = await poolOptionsFor(
      { kind: "secret", host: "h", port: 5432, database: "d", secretArn: "arn:s" },
      async () => ({ username: "postgres", password }),
      2,
    );
    expect(options).toEqual(expect.objectContaining({ host: "h", user: "postgres", ssl: { rejectUnauthorized: true }, max: 2 }));
    const read = options.password as () => Promise<string>;
    expect(await read()).toBe("first");
    password = "rotated";
    expect(await read()).toBe("rotated");
  });

  it("refuses a secret without a username and password", async () => {
    await expect(
      poolOptionsFor({ kind: "secret", host: "h", port: 5432, database: "d", secretArn: "arn:s" }, async () => ({ user: "x" }), 2),
    ).rejects.toThrow(/lacks a string username and password/);
  });
});

describe("the pool size, DB_POOL_MAX", () => {
  it.each<readonly [string | undefined, number]>([
    [undefined, DEFAULT_POOL_MAX],
    ["", DEFAULT_POOL_MAX],
    ["1", 1],
    ["10", 10],
  ])("%p is %p connections", (value, max) => {
    expect(readPoolMax(value === undefined ? {} : { DB_POOL_MAX: value })).toBe(max);
  });

  it.each(["abc", "0", "-1", "1.5", " 3", "3x", "1e3", "0x10", "99999999999999999999"])("%p is refused, naming the variable and the value", (value) => {
    expect(() => readPoolMax({ DB_POOL_MAX: value })).toThrow(`DB_POOL_MAX is not a whole number of connections from 1: "${value}"`);
  });

  it("is part of the database settings, read with the connection", () => {
    expect(readDatabaseSettings({ DATABASE_URL: "postgres://x/y", DB_POOL_MAX: "4" })).toEqual({
      connection: { kind: "url", url: "postgres://x/y" },
      poolMax: 4,
    });
  });

  it("is reported with every other problem of the settings at once", () => {
    expect(() => readDatabaseSettings({ DB_HOST: "h", DB_POOL_MAX: "abc" })).toThrow(
      /^invalid database configuration: .*DB_SECRET_ARN.*; DB_POOL_MAX is not a whole number of connections from 1: "abc"$/,
    );
  });
});

describe("redis configuration", () => {
  it("prefers REDIS_URL, else needs host and the AUTH secret", () => {
    expect(readRedisConfig({ REDIS_URL: "redis://r" })).toEqual({ kind: "url", url: "redis://r" });
    expect(readRedisConfig({ REDIS_HOST: "r", REDIS_AUTH_SECRET_ARN: "arn:a" })).toEqual({
      kind: "secret",
      host: "r",
      port: 6379,
      secretArn: "arn:a",
    });
    expect(() => readRedisConfig({ REDIS_HOST: "r" })).toThrow(/REDIS_AUTH_SECRET_ARN/);
  });
});
