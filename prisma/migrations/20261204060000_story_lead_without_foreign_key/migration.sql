-- A story's lead is kept by the Article triggers of the stories migration, which set it to a
-- member in the statement that changes the members (newsgraph_refresh_stories), so it needs no
-- foreign key. The key deadlocked concurrent writes: its check locks the new lead FOR KEY SHARE
-- while the trigger holds the story row, and a deletion holds its article FOR UPDATE before it
-- locks the story. Two articles of one story trashed at once (or one trashed while the next lead
-- was being detached or merged) each waited for the other until PostgreSQL aborted one.
-- ON DELETE SET NULL is not needed either: deleting the lead runs the same trigger, which passes
-- the lead on (or deletes the emptied story) in that statement.
ALTER TABLE "Story" DROP CONSTRAINT "Story_leadId_fkey";
