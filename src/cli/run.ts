import { disconnect } from '../db/client.ts';
import { connectionProblem, WriteContention } from '../db/errors.ts';
import { FolderInUseError } from '../db/folderLock.ts';
import { Prisma } from '../generated/prisma/client.ts';

/**
 * Runs a command's `main` and exits with the code it returns, after closing the database. On an
 * error it prints one line naming the cause and exits 1: the embedded folder held by a server
 * (then `whenHeld`, what to do instead) or by another command (wait for it), writes that gave up
 * on contention (run it again), a database without tables, a server it cannot reach (check
 * DATABASE_URL), or the error's message.
 */
export function runCli(main: () => Promise<number>, whenHeld: string): void {
  main()
    .then(async (code) => {
      await disconnect();
      process.exit(code);
    })
    .catch(async (error: unknown) => {
      if (error instanceof FolderInUseError) {
        // `whenHeld` advises about a server; a server not listening yet is starting; any other
        // owner that does not listen is a command
        const owner = error.owner;
        const advice =
          owner && !owner.port
            ? owner.server
              ? `that server is still starting: once it listens, run this again (or ${whenHeld.replace(/\.$/, '')}).`
              : 'wait for that command to end, then run this again.'
            : whenHeld;
        console.error(`newsgraph: ${error.message}; ${advice}`);
      } else if (error instanceof WriteContention) {
        // not the connection: other writes kept changing the same rows; what was filed stays
        console.error(
          `newsgraph: gave up: other writes kept changing the same rows (${error.message.toLowerCase()}); run it again to go on`,
        );
      } else if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2021') {
        console.error('newsgraph: the database has no tables yet; run npm run db:migrate first.');
      } else if (connectionProblem(error)) {
        console.error(`newsgraph: ${connectionProblem(error)}; check DATABASE_URL`);
      } else console.error(error instanceof Error ? error.message : error);
      await disconnect().catch(() => undefined);
      process.exit(1);
    });
}
