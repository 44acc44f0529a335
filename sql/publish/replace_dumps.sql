-- Drop the page and sighting rows of the dumps in $dump_ids (reloaded or removed ones).
-- Delete-then-insert in one transaction: a re-run replaces a dump's rows, never appends twice.
DELETE FROM pages WHERE dump_id IN (SELECT unnest($dump_ids::VARCHAR[]));
DELETE FROM headline_sightings WHERE dump_id IN (SELECT unnest($dump_ids::VARCHAR[]));
