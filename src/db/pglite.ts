import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { lockFolder } from './folderLock.ts';

/**
 * Opens the embedded PostgreSQL. `memory://` (or a name starting with it) keeps the data in
 * memory; anything else is a folder, created when missing, that this process then owns until
 * `close()`: a folder another process holds throws FolderInUseError before anything is opened
 * or written (see folderLock.ts). The contrib extensions that our migrations may enable are
 * loaded here so the same migration runs on PGlite and a server.
 */
export async function openPGlite(dataDir: string): Promise<PGlite> {
  if (dataDir.startsWith('memory://')) return PGlite.create(dataDir, { extensions: { pg_trgm } });
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
