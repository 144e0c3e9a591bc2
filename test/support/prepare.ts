import pg from 'pg';
import { openPGlite } from '../../src/db/pglite.ts';
import { serverUrl } from './targets.ts';

/**
 * Runs `sql` on this test file's database before a server process takes it (one owner per
 * embedded folder: the file's own connection is never open while the server runs): on the
 * PostgreSQL server through DATABASE_URL, on the embedded database by opening its folder.
 */
export async function prepareFileDatabase(sql: string): Promise<void> {
  if (serverUrl) {
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  } else {
    const db = await openPGlite(process.env.PGLITE_DIR!);
    try {
      await db.exec(sql);
    } finally {
      await db.close();
    }
  }
}
