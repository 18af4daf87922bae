/** Reads a JSON secret by id (Secrets Manager on AWS, a fake in tests). */
export type SecretReader = (secretId: string) => Promise<Record<string, unknown>>;

export interface UserSecret {
  readonly username: string;
  readonly password: string;
}

/** A `{ username, password }` secret, refused loudly when either is missing or not a string. */
export const readUserSecret = async (read: SecretReader, secretId: string): Promise<UserSecret> => {
  const { username, password } = await read(secretId);
  if (typeof username !== "string" || typeof password !== "string") {
    throw new Error(`secret ${secretId} lacks a string username and password`);
  }
  return { username, password };
};
