// One dev run per workspace: `.b24-pipeline/dev/lock` names the process that
// owns the workspace's persisted emulators (DynamoDB Local's database file,
// fauxqs's SQLite). A second run on the same workspace gets a typed error;
// a lock left by a run that died (kill -9, power loss) is taken over, and the
// dead run's lease owner is handed back so the new run can release its lease
// at once instead of waiting for it to expire.
import { open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { DevWorkspaceLockedError } from './errors.js';

export interface DevLockContent {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  /** Lease owner id prefix of that run (the poller appends `-<sourceId>`). */
  readonly ownerId: string;
}

export interface DevLock {
  readonly path: string;
  /** The lock of a run that died without releasing it, when this run took it over. */
  readonly stale?: DevLockContent;
  release(): Promise<void>;
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<DevLockContent | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as DevLockContent;
  } catch {
    return undefined; // missing or half-written: treated as free
  }
}

/**
 * Takes the workspace lock for this process, or throws DevWorkspaceLockedError
 * when a live process on this host holds it. `alive` is injectable for tests.
 */
export async function acquireDevLock(path: string, ownerId: string, alive: (pid: number) => boolean = processAlive): Promise<DevLock> {
  const mine: DevLockContent = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), ownerId };
  let stale: DevLockContent | undefined;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(mine)}\n`);
      } finally {
        await handle.close();
      }
      return {
        path,
        ...(stale === undefined ? {} : { stale }),
        async release() {
          const current = await readLock(path);
          if (current?.pid === mine.pid && current.ownerId === mine.ownerId) await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLock(path);
    if (holder !== undefined && holder.host === mine.host && (holder.pid === mine.pid || alive(holder.pid))) {
      throw new DevWorkspaceLockedError(path, holder);
    }
    if (holder !== undefined && holder.host !== mine.host) {
      throw new DevWorkspaceLockedError(path, holder);
    }
    stale = holder ?? stale;
    await rm(path, { force: true });
  }
  throw new DevWorkspaceLockedError(path, undefined);
}
