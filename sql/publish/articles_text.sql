-- The changed articles whose winning page is in one dump ($dump_id), with their text, read from
-- its partition file ($part_file). A dump at a time: DuckDB may keep the side of a join that
-- holds the texts in its hash table, which its memory limit does not bound.
INSERT INTO articles BY NAME
SELECT
    winner.article_id, page.edition, page.source, page.title,
    substr(md5(page.title_key), 1, 16) AS headline_id,
    page.published_raw, page.published_date, page.body,
    coalesce(page.body_language, 'und') AS language, page.body_language_score AS language_score,
    winner.first_seen, winner.last_seen, winner.sightings
FROM read_parquet($part_file) AS page
JOIN (SELECT * FROM article_winners WHERE dump_id = $dump_id) AS winner
    ON winner.dump_id = page.dump_id AND winner.page_id = page.page_id
WHERE page.status = 'ok';  -- not a later page of the dump with the same page_id (duplicate_id)
