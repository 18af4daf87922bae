// Handlers log through Powertools; keep test output readable unless asked for.
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
