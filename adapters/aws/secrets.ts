import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

let client: SecretsManagerClient | undefined;
const cache = new Map<string, Promise<Record<string, unknown>>>();

/**
 * Reads a JSON secret once per container (warm invocations reuse it). A failed read is not
 * cached, so the next invocation tries again.
 */
export const readJsonSecret = (secretId: string): Promise<Record<string, unknown>> => {
  const cached = cache.get(secretId);
  if (cached !== undefined) return cached;
  client ??= new SecretsManagerClient({});
  const pending = client.send(new GetSecretValueCommand({ SecretId: secretId })).then((response) => {
    if (response.SecretString === undefined) throw new Error(`secret ${secretId} has no SecretString`);
    const parsed: unknown = JSON.parse(response.SecretString);
    if (typeof parsed !== "object" || parsed === null) throw new Error(`secret ${secretId} is not a JSON object`);
    return parsed as Record<string, unknown>;
  });
  cache.set(secretId, pending);
  pending.catch(() => cache.delete(secretId));
  return pending;
};
