import { logger } from "../../handlers/support/logger";

/**
 * The JSON lines the handlers' Powertools logger writes (ERROR to stderr, the rest to
 * stdout) while `run` runs, at `level`; the logger is silent again afterwards.
 */
export const logLines = async (
  run: () => Promise<unknown>,
  level: "DEBUG" | "INFO" = "INFO",
): Promise<Array<Record<string, unknown>>> => {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const out = jest.spyOn(process.stdout, "write").mockImplementation(capture);
  const err = jest.spyOn(process.stderr, "write").mockImplementation(capture);
  logger.setLogLevel(level);
  try {
    await run();
  } finally {
    logger.setLogLevel("SILENT");
    out.mockRestore();
    err.mockRestore();
  }
  return written
    .join("")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
};
