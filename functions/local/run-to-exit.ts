import { LocalRuntimeError } from './errors.js';

/**
 * Runs a command's main function and exits with its code: 0/1 as it returns,
 * 2 for a known local-runtime error (bad usage or set-up, message printed
 * without a stack), 1 for anything else.
 */
export function runToExit(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
      process.exit(error instanceof LocalRuntimeError ? 2 : 1);
    },
  );
}
