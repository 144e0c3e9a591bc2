import fs from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { tryLock, unlock } from 'fs-native-extensions';

/**
 * One owner per embedded database folder, enforced by the operating system. The owner holds an
 * exclusive advisory lock on `<folder>/newsgraph.lock` for as long as it has the folder open,
 * and on the database's own `PG_VERSION` file once it exists (Linux: open file description
 * locks, F_OFD_SETLK; macOS: flock(2); Windows: LockFileEx; all through fs-native-extensions).
 * The first lock settles two first starts on an empty folder; the second still holds when
 * someone deletes or replaces the lock file, since the database cannot run without its
 * PG_VERSION. The kernel drops both when the descriptors are closed or the process dies, so a
 * killed owner leaves nothing stale to clean up: the next process simply gets the locks. The
 * lock file's text (the owner's pid, command, start time and, once listening, its port) only
 * feeds the message a refused process prints; the locks are what count. Neither file is opened
 * through a symbolic link.
 *
 * A refused process has written nothing: it opened the lock file (which the owner created) and
 * read it, and never opens the database.
 */

/** Name of the lock file in the database folder; its text (JSON, FolderOwner) names the owner. */
export const LOCK_FILE = 'newsgraph.lock';
/** Written by initdb and never changed: locked as the database's own mark of ownership. */
const DATA_FILE = 'PG_VERSION';

/** What the lock file says about its owner. */
export interface FolderOwner {
  pid: number;
  /** The owner's script and subcommand, e.g. `src/main.ts` or `src/cli/apikey.ts create`. */
  command: string;
  /** ISO-8601 instant the owner took the folder. */
  since: string;
  /** True for an API server (src/main.ts), from the moment it takes the folder (servesFolders). */
  server?: boolean;
  /** The HTTP port, once an API server listens. */
  port?: number;
}

/** The folder is held by another process (or by another open of this one). */
export class FolderInUseError extends Error {
  override name = 'FolderInUseError';
  constructor(
    /** Absolute path of the folder. */
    readonly folder: string,
    /** The owner as its lock file describes it; null while it is still writing it, or when it was removed. */
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
  /** The lock on PG_VERSION, once the database exists. */
  dataFd?: number;
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
 * The owner recorded in a held lock file. An owner that has just taken the lock writes its
 * record a moment later: a missing record is read again for up to 200 ms before giving up.
 */
function ownerOf(file: string): FolderOwner | null {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; attempt < 8; attempt++) {
    const owner = readOwner(file);
    if (owner) return owner;
    Atomics.wait(pause, 0, 0, 25);
  }
  return readOwner(file);
}

/** Opens `file` read-write (created when missing, never truncated, never through a symlink) and locks it; null when held. */
function tryLockFile(file: string, create: boolean): number | null {
  const flags = fs.constants.O_RDWR | fs.constants.O_NOFOLLOW | (create ? fs.constants.O_CREAT : 0);
  let fd: number;
  try {
    fd = fs.openSync(file, flags, 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new Error(`${file} is a symbolic link; the embedded database does not follow it (remove it)`);
    }
    throw error;
  }
  let granted = false;
  try {
    granted = tryLock(fd);
  } finally {
    if (!granted) fs.closeSync(fd);
  }
  return granted ? fd : null;
}

/** Locks the database's PG_VERSION once it exists; false when another process holds it. */
function lockDataFile(folder: string, lock: HeldLock): boolean {
  if (lock.dataFd !== undefined || !fs.existsSync(path.join(folder, DATA_FILE))) return true;
  const fd = tryLockFile(path.join(folder, DATA_FILE), false);
  if (fd === null) return false;
  lock.dataFd = fd;
  return true;
}

function releaseLock(lock: HeldLock): void {
  for (const fd of [lock.dataFd, lock.fd]) {
    if (fd === undefined) continue;
    unlock(fd);
    fs.closeSync(fd);
  }
}

/** The hold lockFolder gives on a folder; release() is a no-op once released. */
export interface FolderLock {
  /** Locks the database's own files too, once they exist (call after opening a new folder). */
  secure(): void;
  /** Gives the folder back. */
  release(): void;
}

/**
 * The database's files are the owner's alone, as PostgreSQL's own data directory is (initdb
 * makes it 0700): the folder becomes 0700, which keeps every other user out of whatever is in
 * it (PGlite sets its files' modes itself), and this process creates files with umask 077.
 */
function ownerOnly(folder: string): void {
  fs.chmodSync(folder, 0o700);
  try {
    process.umask(0o077);
  } catch {
    // a worker thread cannot change the process's umask
  }
}

/** Takes the folder (creating it when missing) or throws FolderInUseError at once; never waits. */
export function lockFolder(folder: string): FolderLock {
  const absolute = path.resolve(folder);
  fs.mkdirSync(absolute, { recursive: true, mode: 0o700 });
  const file = path.join(absolute, LOCK_FILE);
  const fd = tryLockFile(file, true);
  if (fd === null) throw new FolderInUseError(absolute, ownerOf(file));
  const lock: HeldLock = {
    fd,
    owner: {
      pid: process.pid,
      command: ownCommand(),
      since: new Date().toISOString(),
      ...(isServer && { server: true }),
    },
  };
  if (!lockDataFile(absolute, lock)) {
    // the lock file was removed or replaced under a running owner, which still holds the database
    releaseLock(lock);
    throw new FolderInUseError(absolute, null);
  }
  writeOwner(lock);
  ownerOnly(absolute);
  held.set(absolute, lock);
  return {
    secure() {
      if (held.get(absolute) === lock && !lockDataFile(absolute, lock)) {
        throw new FolderInUseError(absolute, null);
      }
    },
    release() {
      if (held.get(absolute) !== lock) return;
      held.delete(absolute);
      releaseLock(lock);
    },
  };
}

let isServer = false;

/**
 * Marks the folders this process takes from now on as an API server's (FolderOwner.server), so
 * that a command refused while the server is still starting is told to wait for it to listen,
 * not for "that command" to end.
 */
export function servesFolders(): void {
  isServer = true;
}

/** Records the HTTP port in the lock files this process holds, for the message others get. */
export function announcePort(port: number): void {
  for (const lock of held.values()) {
    lock.owner.port = port;
    writeOwner(lock);
  }
}

/** Name of the file, in a held folder, that holds the owner's local transfer token (mode 0600). */
export const TOKEN_FILE = 'newsgraph.token';

/**
 * Writes a fresh random token into `<folder>/newsgraph.token` (mode 0600, never through a symbolic
 * link) of every folder this process holds, and returns it: the import and export commands, run
 * by a user who can read the folder (and so the database itself), present it to this process's
 * /import.ndjson and /export.* endpoints instead of an API key. Null when no folder is held.
 */
export function announceLocalToken(): string | null {
  if (!held.size) return null;
  const token = `ngl_${crypto.randomBytes(32).toString('base64url')}`;
  localToken = token;
  for (const folder of held.keys()) writeToken(folder, token);
  return token;
}

/** The token announceLocalToken wrote last (kept so that keepOwnerFiles can write it again). */
let localToken: string | null = null;

/** Writes `token` into `<folder>/newsgraph.token` (mode 0600, never through a symbolic link). */
function writeToken(folder: string, token: string): void {
  const fd = fs.openSync(
    path.join(folder, TOKEN_FILE),
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW,
    0o600,
  );
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, `${token}\n`, 0, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes the lock file and the token file of every folder this process holds again whenever
 * they are gone or replaced (checked every `intervalMs`), as a server does: someone cleaning up
 * a folder deleted them under a running server, which still held the database (PG_VERSION), and
 * from then on the import and export commands could neither reach it (no port, no token) nor open
 * the folder themselves. The new lock file is locked before it is written; one a refused
 * process holds for a moment is tried again next time. Returns a function that stops it.
 */
export function keepOwnerFiles(intervalMs = OWNER_FILES_CHECK_MS): () => void {
  const timer = setInterval(() => {
    for (const [folder, lock] of held) {
      try {
        restoreOwnerFiles(folder, lock);
      } catch {
        // the folder itself is gone or unwritable: nothing to restore now
      }
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** How often keepOwnerFiles checks the owner's files, ms. */
export const OWNER_FILES_CHECK_MS = 1_000;

function restoreOwnerFiles(folder: string, lock: HeldLock): void {
  const file = path.join(folder, LOCK_FILE);
  const current = fs.statSync(file, { throwIfNoEntry: false });
  if (!current || current.ino !== fs.fstatSync(lock.fd).ino) {
    const fd = tryLockFile(file, true);
    if (fd !== null) {
      // the old descriptor locks a file nobody can open any more
      unlock(lock.fd);
      fs.closeSync(lock.fd);
      lock.fd = fd;
      writeOwner(lock);
    }
  }
  if (localToken !== null && readLocalToken(folder) !== localToken) writeToken(folder, localToken);
}

/** The local transfer token the owner of `folder` wrote (announceLocalToken); null when there is none or it cannot be read. */
export function readLocalToken(folder: string): string | null {
  try {
    const text = fs.readFileSync(path.join(path.resolve(folder), TOKEN_FILE), 'utf8').trim();
    return /^ngl_[A-Za-z0-9_-]{43}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}
