import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { lockFolder, type FolderLock } from './folderLock.ts';

/** The PostgreSQL major version PGlite runs (a data folder's PG_VERSION); a test checks it against PGlite itself. */
export const EMBEDDED_MAJOR_VERSION = '18';

/**
 * A data folder the embedded database cannot open: one made by another PostgreSQL major version
 * (PostgreSQL opens only its own: pg_upgrade, or a dump and restore, moves data between them).
 * Its message is one line saying what to do.
 */
export class EmbeddedFolderError extends Error {
  override name = 'EmbeddedFolderError';
}

/**
 * The embedded database as a PostgreSQL server of this process: PGlite runs in a worker thread
 * (embeddedWorker.mjs) behind a Unix socket in a private temporary folder (mode 0700), and the
 * API talks to it with the same driver as to any server (pg, through Prisma's adapter-pg). So a
 * long statement runs on another thread: health checks, metrics and every request that does
 * not need the database stay answered meanwhile.
 *
 * PGlite cannot cancel a statement (it runs synchronously, and ignores statement_timeout), so a
 * statement past its time is stopped by `restart()`: the thread is terminated and PGlite opened
 * again on the same folder, which recovers from its write-ahead log as after a crash (committed
 * transactions are kept, the interrupted one is not). This process holds the folder's lock
 * (folderLock.ts) throughout, so no other process can take the folder in between. The
 * watchdog (`watch`) times what PGlite executes, not what waits for it: the worker marks each
 * protocol message it runs in shared memory.
 *
 * PGlite has one session, so the socket takes one connection at a time: connect with a pool of 1.
 */
export class EmbeddedPostgres {
  private worker: Worker | undefined;
  private restarting: Promise<void> | undefined;
  private closed = false;
  /** Written by the worker: [0] 1 while PGlite executes a message, [1] messages begun. */
  private readonly activity = new Int32Array(new SharedArrayBuffer(8));
  private watchdog: NodeJS.Timeout | undefined;
  /** Statements the watchdog stopped so far. */
  stopped = 0;

  private constructor(
    /** The data folder, or `memory://`. */
    readonly dataDir: string,
    private readonly socketDir: string,
    private readonly lock: FolderLock | undefined,
    private readonly settings: Readonly<Record<string, string>>,
  ) {}

  /**
   * Takes the folder (FolderInUseError when another process holds it) and starts the database;
   * resolves when it accepts connections (a new folder is created and initialized first).
   * `settings` are PostgreSQL settings for this run only (`-c name=value` on its command line,
   * never written to the folder's postgresql.conf), e.g. `{ shared_buffers: '16MB' }`.
   */
  static async start(dataDir: string, settings: Readonly<Record<string, string>> = {}): Promise<EmbeddedPostgres> {
    const memory = dataDir.startsWith('memory://');
    if (!memory) checkDataFolder(dataDir);
    const lock = memory ? undefined : lockFolder(dataDir);
    const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'newsgraph-db-'));
    const database = new EmbeddedPostgres(memory ? dataDir : path.resolve(dataDir), socketDir, lock, settings);
    try {
      await database.launch();
      // a new folder's database files exist now
      lock?.secure();
    } catch (error) {
      await database.close();
      throw error;
    }
    return database;
  }

  /**
   * Whether the data outlives the thread (a folder; not `memory://`). Only then is a statement
   * past its time stopped by a restart, and a crashed thread started again.
   */
  get persistent(): boolean {
    return !this.dataDir.startsWith('memory://');
  }

  /** Connection string for pg (a Unix socket: `host` is the socket's folder). */
  get url(): string {
    return `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(this.socketDir)}`;
  }

  private get socketPath(): string {
    return path.join(this.socketDir, '.s.PGSQL.5432');
  }

  private async launch(): Promise<void> {
    fs.rmSync(this.socketPath, { force: true });
    Atomics.store(this.activity, 0, 0);
    const worker = new Worker(new URL('./embeddedWorker.mjs', import.meta.url), {
      workerData: {
        dataDir: this.dataDir,
        socketPath: this.socketPath,
        activity: this.activity.buffer,
        settings: this.settings,
      },
    });
    this.worker = worker;
    await new Promise<void>((resolve, reject) => {
      worker.once('message', (message: { ready?: boolean; error?: string }) =>
        message.ready ? resolve() : reject(new Error(`the embedded database did not start: ${message.error}`)),
      );
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the embedded database stopped while starting (exit ${code})`)));
    });
    // A thread that ends by itself (out of memory, a crash in PGlite) is started again, as a
    // server's postmaster restarts a crashed backend; connections meanwhile fail and are retried.
    // An in-memory database is not started again: its data went with the thread, and an empty
    // database answering as if nothing happened would be worse than none.
    worker.once('exit', () => {
      if (this.worker === worker && !this.closed && !this.restarting && this.persistent)
        void this.restart().catch(() => undefined);
    });
  }

  /**
   * Stops whatever the database is doing (by terminating its thread) and starts it again on
   * the same folder. Connections to it fail meanwhile; calls made during a restart share it.
   */
  restart(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.restarting ??= (async () => {
      try {
        await this.worker?.terminate();
        if (!this.closed) await this.launch();
      } finally {
        this.restarting = undefined;
      }
    })();
    return this.restarting;
  }

  /**
   * The statement timeout: while `armed()` says so, one protocol message that PGlite has run
   * for `timeoutMs` (measured to within a fifth of it, at most 200 ms) is stopped by restart(),
   * and `stopped` counts it. Time spent waiting for PGlite (behind other statements) is not
   * counted. `armed` lets the caller exempt work that may be long (migrations, imports). An
   * in-memory database has no watchdog (a restart would empty it).
   */
  watch(timeoutMs: number, armed: () => boolean): void {
    clearInterval(this.watchdog);
    // stopping a statement restarts the database, which would empty an in-memory one
    if (timeoutMs <= 0 || !this.persistent) return;
    const tick = Math.min(200, Math.max(10, Math.floor(timeoutMs / 5)));
    let seen = -1;
    let since = 0;
    this.watchdog = setInterval(() => {
      const running = Atomics.load(this.activity, 0) === 1;
      const begun = Atomics.load(this.activity, 1);
      const now = performance.now();
      if (!running || begun !== seen) {
        seen = begun;
        since = now;
        return;
      }
      if (now - since >= timeoutMs && armed() && !this.restarting) {
        this.stopped += 1;
        seen = -1;
        void this.restart().catch(() => undefined);
      }
    }, tick);
    this.watchdog.unref();
  }

  /** Resolves when the database accepts connections (at once, unless it is restarting). */
  ready(): Promise<void> {
    return this.restarting?.catch(() => undefined) ?? Promise.resolve();
  }

  /** Closes the database cleanly (then the thread) and gives the folder back; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    await this.restarting?.catch(() => undefined);
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      const closed = new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('exit', () => resolve());
        setTimeout(resolve, 10_000).unref();
      });
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    }
    fs.rmSync(this.socketDir, { recursive: true, force: true });
    this.lock?.release();
  }
}

/**
 * Throws EmbeddedFolderError (one line saying what to do) when `dataDir` cannot hold the embedded
 * database: its PG_VERSION is no file or no version, or another major version's, or it has none
 * and the folder holds files of its own. A folder that does not exist yet passes (it is created).
 */
export function checkDataFolder(dataDir: string): void {
  const problem = versionFileProblem(dataDir);
  if (problem) throw new EmbeddedFolderError(problem);
  const version = folderVersion(dataDir);
  if (version !== null && version !== EMBEDDED_MAJOR_VERSION) {
    throw new EmbeddedFolderError(
      `${path.resolve(dataDir)} holds a PostgreSQL ${version} database, and the embedded database is PostgreSQL ${EMBEDDED_MAJOR_VERSION}: use another folder (PGLITE_DIR), or run that database on a PostgreSQL ${version} server (DATABASE_URL) and move its articles with npm run export and npm run import`,
    );
  }
}

/**
 * Why the folder cannot hold the embedded database, or undefined: its PG_VERSION is no file or no
 * version, or it has none and holds files of its own.
 */
function versionFileProblem(dataDir: string): string | undefined {
  const file = path.join(path.resolve(dataDir), 'PG_VERSION');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return foreignFilesProblem(dataDir); // none: a new folder (or one lockFolder reports)
  }
  if (!stat.isFile())
    return `${path.resolve(dataDir)} is not a PostgreSQL data folder (its PG_VERSION is not a file): use another folder (PGLITE_DIR)`;
  const version = fs.readFileSync(file, 'utf8').trim();
  return /^\d+$/.test(version)
    ? undefined
    : `${path.resolve(dataDir)} is not a PostgreSQL data folder (its PG_VERSION holds no version): use another folder (PGLITE_DIR)`;
}

/**
 * Names a folder without PG_VERSION may hold and still be taken for a new database: this project's
 * own files, what PostgreSQL's initdb writes before PG_VERSION (an initialization cut short), and
 * what file systems and version control leave in an empty folder.
 */
const NEW_FOLDER_NAMES =
  /^(?:newsgraph\.(?:lock|token)|base|global|pg_[a-z_]+|postgresql(?:\.auto)?\.conf|pg_(?:hba|ident)\.conf|postmaster\.(?:pid|opts)|lost\+found|\.gitkeep|\.gitignore|\.DS_Store)$/;

/**
 * Why a folder without PG_VERSION cannot become the embedded database: it holds files of its own
 * (PGlite would write the database's 20-odd files and folders beside them), or undefined.
 */
function foreignFilesProblem(dataDir: string): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dataDir);
  } catch {
    return undefined; // none yet: it is created
  }
  const foreign = names.filter((name) => !NEW_FOLDER_NAMES.test(name)).sort();
  if (!foreign.length) return undefined;
  const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? `, and ${foreign.length - 3} more` : '');
  return `${path.resolve(dataDir)} holds other files (${shown}) and no database: the embedded database needs a folder of its own; use a new or empty folder (PGLITE_DIR)`;
}

/** The major version in a data folder's PG_VERSION, or null when it has none (a new folder). */
function folderVersion(dataDir: string): string | null {
  try {
    return fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
