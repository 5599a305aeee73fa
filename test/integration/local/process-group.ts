// Runs an npm script the way a terminal does: in its own process group (so a
// signal can go to the whole foreground group, as Ctrl-C does), with its
// output captured, and lists what is left of that group afterwards.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../../..');

export interface NpmRun {
  readonly child: ChildProcess;
  /** The npm process id, which is also the process group id. */
  readonly pid: number;
  output(): string;
  errors(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until `test(output)` holds, or throws after `timeoutMs` with the output so far. */
  waitForOutput(test: (output: string) => boolean, timeoutMs: number, what: string): Promise<void>;
  /** Signals every process of the group, as a terminal's Ctrl-C does. */
  signalGroup(signal: NodeJS.Signals): void;
}

/** `npm --prefix <project> run <script> -- <args>` started from `cwd` (so INIT_CWD is `cwd`). */
export function runNpmScript(script: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): NpmRun {
  const child = spawn('npm', ['--prefix', PROJECT_ROOT, 'run', '--silent', script, '--', ...args], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  const pid = child.pid ?? -1;
  return {
    child,
    pid,
    output: () => out,
    errors: () => err,
    exited,
    async waitForOutput(test, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      let gone = false;
      void exited.then(() => {
        gone = true;
      });
      while (!test(out)) {
        if (gone) throw new Error(`npm run ${script} exited before ${what}.\nstdout:\n${out}\nstderr:\n${err}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}.\nstdout:\n${out}\nstderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    signalGroup(signal) {
      process.kill(-pid, signal);
    },
  };
}

interface ProcInfo {
  readonly pid: number;
  readonly pgid: number;
  readonly ppid: number;
  readonly cmdline: string;
}

/** Every process this user can see, from /proc (Linux). */
export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      out.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]), cmdline });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Processes still alive in the group, or whose command line mentions `marker` (e.g. the workspace path). */
export function leftovers(pgid: number, marker?: string): ProcInfo[] {
  return listProcesses().filter((p) => p.pid !== process.pid && (p.pgid === pgid || (marker !== undefined && p.cmdline.includes(marker))));
}

/** Waits (bounded) until no process of the group or naming `marker` is left; returns what is left. */
export async function waitForNoLeftovers(pgid: number, marker: string | undefined, timeoutMs: number): Promise<ProcInfo[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = leftovers(pgid, marker);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Kills what a failed test left behind (only processes of that group or naming the marker). */
export function killLeftovers(pgid: number, marker?: string): void {
  for (const p of leftovers(pgid, marker)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
