import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

let client: SecretsManagerClient | undefined;
const cache = new Map<string, { readonly at: number; readonly value: Promise<Record<string, unknown>> }>();

/**
 * How long a warm container trusts a secret it read. RDS rotates its managed master
 * password (every 7 days by default): a later read sees the new one, so new connections
 * keep working without a redeploy.
 */
export const SECRET_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * Reads a JSON secret, at most once per `SECRET_MAX_AGE_MS` per container (warm invocations
 * reuse it). A failed read is not cached, so the next call tries again.
 */
export const readJsonSecret = (secretId: string): Promise<Record<string, unknown>> => {
  const cached = cache.get(secretId);
  if (cached !== undefined && Date.now() - cached.at < SECRET_MAX_AGE_MS) return cached.value;
  client ??= new SecretsManagerClient({});
  const value = client.send(new GetSecretValueCommand({ SecretId: secretId })).then((response) => {
    if (response.SecretString === undefined) throw new Error(`secret ${secretId} has no SecretString`);
    const parsed: unknown = JSON.parse(response.SecretString);
    if (typeof parsed !== "object" || parsed === null) throw new Error(`secret ${secretId} is not a JSON object`);
    return parsed as Record<string, unknown>;
  });
  cache.set(secretId, { at: Date.now(), value });
  value.catch(() => cache.delete(secretId));
  return value;
};
