import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

/**
 * Opens the embedded PostgreSQL. `memory://` (or a name starting with it) keeps the data in
 * memory; anything else is a folder, created when missing. The contrib extensions that our
 * migrations may enable are loaded here so the same migration runs on PGlite and a server.
 */
export async function openPGlite(dataDir: string): Promise<PGlite> {
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  return PGlite.create(dataDir, { extensions: { pg_trgm } });
}
