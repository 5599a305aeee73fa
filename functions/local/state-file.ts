// The description of a running local pipeline, written by the demo and dev
// mode so the operator CLI can find it (`npm run cli -- status --local`).
// Names and endpoints only: never a credential.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SourceConfig } from '../shared/config.js';
import type { LocalAwsEndpoints } from './aws-emulators.js';
import type { ProvisionedPipeline } from './provision.js';

/** Where the demo/dev mode write the state file, relative to the working directory. */
export const DEFAULT_LOCAL_STATE_PATH = '.b24-pipeline/local.json';
/** Environment variable naming another state file path. */
export const LOCAL_STATE_ENV = 'B24_LOCAL_STATE';

export interface LocalStateFile {
  readonly version: 1;
  readonly pid: number;
  readonly startedAt: string;
  readonly endpoints: LocalAwsEndpoints;
  readonly pipeline: ProvisionedPipeline;
  readonly sources: readonly SourceConfig[];
}

export function localStatePath(cwd: string, env: Readonly<Record<string, string | undefined>>, explicit?: string): string {
  return resolve(cwd, explicit ?? env[LOCAL_STATE_ENV] ?? DEFAULT_LOCAL_STATE_PATH);
}

export async function writeLocalState(path: string, state: Omit<LocalStateFile, 'version'>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify({ version: 1, ...state }, null, 2)}\n`, { mode: 0o600 });
}

/** The state file's content, or undefined when there is none. Throws on a corrupt file. */
export async function readLocalState(path: string): Promise<LocalStateFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as LocalStateFile;
  if (parsed.version !== 1) throw new Error(`unsupported local state file version in ${path}`);
  return parsed;
}

/** Removes the state file if it still describes this process's run. */
export async function removeLocalState(path: string, pid = process.pid): Promise<void> {
  try {
    const state = await readLocalState(path);
    if (state?.pid === pid) await rm(path, { force: true });
  } catch {
    // a corrupt or vanished file is not worth failing a shutdown for
  }
}
