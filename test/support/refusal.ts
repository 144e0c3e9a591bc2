import { prisma } from '../../src/db/client.ts';

/**
 * Runs `run` while the database refuses (SQLSTATE 54000, program_limit_exceeded, as for a value
 * past one of its limits) every insert or update of an article whose title is LIKE `titles`: a
 * stand-in for the next value our checks let through and the database does not store.
 */
export async function whileRefusingTitles<T>(titles: string, run: () => Promise<T>): Promise<T> {
  await prisma.$executeRawUnsafe(`
    CREATE FUNCTION "test_refuse_titles"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW."title" LIKE ${`'${titles.replace(/'/g, "''")}'`} THEN
        RAISE EXCEPTION 'refused' USING ERRCODE = 'program_limit_exceeded';
      END IF;
      RETURN NEW;
    END $$`);
  await prisma.$executeRawUnsafe(
    `CREATE TRIGGER "test_refuse_titles" BEFORE INSERT OR UPDATE ON "Article" FOR EACH ROW EXECUTE FUNCTION "test_refuse_titles"()`,
  );
  try {
    return await run();
  } finally {
    await prisma.$executeRawUnsafe(`DROP TRIGGER "test_refuse_titles" ON "Article"`);
    await prisma.$executeRawUnsafe(`DROP FUNCTION "test_refuse_titles"()`);
  }
}
