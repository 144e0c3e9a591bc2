import fs from 'node:fs';
import path from 'node:path';
import { tryLock, unlock } from 'fs-native-extensions';

/**
 * One owner per embedded database folder, enforced by the operating system. The owner holds an
 * exclusive advisory lock on `<folder>/newsgraph.lock` for as long as it has the folder open
 * (Linux: an open file description lock, F_OFD_SETLK; macOS: flock(2); Windows: LockFileEx; all
 * through fs-native-extensions). The kernel drops the lock when the descriptor is closed or the
 * process dies, so a killed owner leaves nothing stale to clean up: the next process simply gets
 * the lock. The file's text (the owner's pid, command, start time and, once listening, its port)
 * only feeds the message a refused process prints; the lock is what counts.
 *
 * A refused process has written nothing: it opened the lock file (which the owner created) and
 * read it, and never opens the database.
 */

export const LOCK_FILE = 'newsgraph.lock';

/** What the lock file says about its owner. */
export interface FolderOwner {
  pid: number;
  /** The owner's script and subcommand, e.g. `src/main.ts` or `src/cli/apikey.ts create`. */
  command: string;
  /** ISO-8601 instant the owner took the folder. */
  since: string;
  /** The HTTP port, once an API server listens. */
  port?: number;
}

/** The folder is held by another process (or by another open of this one). */
export class FolderInUseError extends Error {
  override name = 'FolderInUseError';
  constructor(
    /** Absolute path of the folder. */
    readonly folder: string,
    /** The owner as its lock file describes it; null while it is still writing that file. */
    readonly owner: FolderOwner | null,
  ) {
    super(`the embedded database folder ${folder} is in use by ${owner ? describeOwner(owner) : 'another process'}`);
  }
}

function describeOwner(owner: FolderOwner): string {
  const port = owner.port ? `, listening on port ${owner.port}` : '';
  return `process ${owner.pid} (${owner.command}${port}, since ${owner.since})`;
}

interface HeldLock {
  fd: number;
  owner: FolderOwner;
}

const held = new Map<string, HeldLock>();

function ownCommand(): string {
  const script = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) : 'node';
  const subcommand = process.argv[2] && /^[a-z:-]{1,20}$/.test(process.argv[2]) ? ` ${process.argv[2]}` : '';
  return `${script}${subcommand}`;
}

function writeOwner(lock: HeldLock): void {
  const text = `${JSON.stringify(lock.owner)}\n`;
  fs.ftruncateSync(lock.fd, 0);
  fs.writeSync(lock.fd, text, 0, 'utf8');
  fs.fsyncSync(lock.fd);
}

function readOwner(file: string): FolderOwner | null {
  try {
    const owner = JSON.parse(fs.readFileSync(file, 'utf8')) as FolderOwner;
    return Number.isInteger(owner.pid) && typeof owner.command === 'string' ? owner : null;
  } catch {
    return null;
  }
}

/**
 * Takes the folder (creating it when missing) or throws FolderInUseError at once; never waits.
 * Returns the function that gives it back.
 */
export function lockFolder(folder: string): () => void {
  const absolute = path.resolve(folder);
  fs.mkdirSync(absolute, { recursive: true });
  const file = path.join(absolute, LOCK_FILE);
  // read-write, created when missing, never truncated before the lock is ours
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  let granted = false;
  try {
    granted = tryLock(fd);
  } finally {
    if (!granted) fs.closeSync(fd);
  }
  if (!granted) throw new FolderInUseError(absolute, readOwner(file));
  const lock: HeldLock = { fd, owner: { pid: process.pid, command: ownCommand(), since: new Date().toISOString() } };
  writeOwner(lock);
  held.set(absolute, lock);
  return () => {
    if (held.get(absolute) !== lock) return;
    held.delete(absolute);
    unlock(fd);
    fs.closeSync(fd);
  };
}

/** Records the HTTP port in the lock files this process holds, for the message others get. */
export function announcePort(port: number): void {
  for (const lock of held.values()) {
    lock.owner.port = port;
    writeOwner(lock);
  }
}
