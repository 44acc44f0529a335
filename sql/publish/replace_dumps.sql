-- Drop the rows of the dumps in $dump_ids (reloaded or removed ones), after queuing the
-- articles and headlines they showed: those are recomputed from the dumps that remain.
-- Delete-then-insert in one transaction: a re-run replaces a dump's rows, never appends twice.
DELETE FROM meta.changed_dumps;
DELETE FROM meta.changed_articles;
DELETE FROM meta.changed_headlines;

INSERT INTO meta.changed_articles
SELECT DISTINCT article_id FROM meta.dump_articles WHERE dump_id IN (SELECT unnest($dump_ids::VARCHAR[]));

INSERT INTO meta.changed_headlines
SELECT DISTINCT headline_id FROM meta.dump_headlines WHERE dump_id IN (SELECT unnest($dump_ids::VARCHAR[]));

DELETE FROM pages WHERE dump_id IN (SELECT unnest($dump_ids::VARCHAR[]));
DELETE FROM headline_sightings WHERE dump_id IN (SELECT unnest($dump_ids::VARCHAR[]));
DELETE FROM meta.dump_articles WHERE dump_id IN (SELECT unnest($dump_ids::VARCHAR[]));
DELETE FROM meta.dump_headlines WHERE dump_id IN (SELECT unnest($dump_ids::VARCHAR[]));
