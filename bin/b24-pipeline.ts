#!/usr/bin/env node
// The operator CLI entry: `npm run cli -- <command>` (or `b24-pipeline` when
// installed). All logic is in functions/cli/main.ts.
import { createInterface } from 'node:readline/promises';
import { runCli } from '../functions/cli/main.js';

const interactive = process.stdin.isTTY && process.stderr.isTTY;

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  ...(interactive
    ? {
        prompt: async (question: string) => {
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          try {
            return await rl.question(question);
          } finally {
            rl.close();
          }
        },
      }
    : {}),
});
process.exitCode = code;
