-- articles: one row per distinct article (same source, title and publication date after
-- NFKC, whitespace and case folding), over every published partition file $all_part_files.
-- The longest body seen wins, so a truncated copy never hides a complete one.
DELETE FROM articles;

INSERT INTO articles BY NAME
WITH sighting AS (
    SELECT
        substr(md5(article_key), 1, 16) AS article_id,
        edition, source, title, substr(md5(title_key), 1, 16) AS headline_id,
        published_raw, published_date, body, crawl_date, dump_id, page_id
    FROM read_parquet($all_part_files::VARCHAR[])
    WHERE status = 'ok'
),
best AS (
    SELECT * FROM sighting
    QUALIFY row_number() OVER (
        PARTITION BY article_id ORDER BY length(body) DESC, crawl_date, dump_id, page_id
    ) = 1
),
seen AS (
    SELECT article_id, min(crawl_date) AS first_seen, max(crawl_date) AS last_seen, count(*) AS sightings
    FROM sighting
    GROUP BY article_id
)
SELECT
    best.article_id, edition, source, title, headline_id, published_raw, published_date, body,
    coalesce(known.language, 'und') AS language, known.language_score,
    first_seen, last_seen, sightings
FROM best
JOIN seen USING (article_id)
LEFT JOIN meta.text_languages AS known ON known.text_md5 = md5(best.body) AND known.kind = 'article';
