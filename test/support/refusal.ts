import { prisma } from '../../src/db/client.ts';

/**
 * Runs `run` while the database refuses every insert or update of an article whose title is LIKE
 * `titles`, with the condition `refusal` (by default program_limit_exceeded, SQLSTATE 54000, as
 * for a value past one of its limits): a stand-in for the next value our checks let through and
 * the database does not store.
 */
export async function whileRefusingTitles<T>(
  titles: string,
  run: () => Promise<T>,
  refusal: 'program_limit_exceeded' | 'check_violation' = 'program_limit_exceeded',
): Promise<T> {
  await prisma.$executeRawUnsafe(`
    CREATE FUNCTION "test_refuse_titles"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW."title" LIKE ${`'${titles.replace(/'/g, "''")}'`} THEN
        RAISE EXCEPTION 'refused' USING ERRCODE = '${refusal}';
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
