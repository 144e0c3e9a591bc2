import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { checkDataFolder } from './embedded.ts';
import { lockFolder } from './folderLock.ts';

/**
 * Opens the embedded PostgreSQL. `memory://` (or a name starting with it) keeps the data in
 * memory; anything else is a folder, created when missing, that this process then owns until
 * `close()`: a folder another process holds throws FolderInUseError, and one that cannot hold the
 * database (checkDataFolder) EmbeddedFolderError, before anything is opened or written (see
 * folderLock.ts). The contrib extensions that our migrations may enable are
 * loaded here so the same migration runs on PGlite and a server.
 */
export async function openPGlite(dataDir: string): Promise<PGlite> {
  if (dataDir.startsWith('memory://')) return openInMemory(dataDir);
  checkDataFolder(dataDir);
  const lock = lockFolder(dataDir);
  try {
    const db = await PGlite.create(dataDir, { extensions: { pg_trgm } });
    try {
      // a new folder's database files exist now
      lock.secure();
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
    const close = db.close.bind(db);
    // the folder is given back only once the database is closed
    db.close = async () => {
      try {
        await close();
      } finally {
        lock.release();
      }
    };
    return db;
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * A new cluster as PGlite's tarball (`dumpDataDir('none')`, about 40 MB), taken from the first
 * in-memory database this process creates, before anyone uses it.
 */
let freshCluster: Promise<Blob> | undefined;

/**
 * An in-memory database (the schema engine's throwaway databases: drift, new migrations, the
 * shadow of a server's migration). The first of a process runs initdb; the later ones load its
 * tarball instead (PGlite's `loadDataDir`), about 1.2 s against 4 s on a 2-core machine. Folders
 * are not created this way: each still gets initdb's own output.
 */
async function openInMemory(dataDir: string): Promise<PGlite> {
  const options = { extensions: { pg_trgm } };
  const tarball = await freshCluster?.catch(() => undefined);
  if (tarball) return PGlite.create(dataDir, { ...options, loadDataDir: tarball });
  const db = await PGlite.create(dataDir, options);
  if (!freshCluster) {
    const taken = db.dumpDataDir('none');
    freshCluster = taken;
    // a failed dump is not kept: the next database runs initdb and tries again
    await taken.catch(() => {
      if (freshCluster === taken) freshCluster = undefined;
    });
  }
  return db;
}
