-- articles: one row per distinct article (same source, title and publication date after NFKC,
-- whitespace and case folding). Recomputes the changed articles (meta.changed_articles) from
-- every dump's share (meta.dump_articles); the text comes from the winning page, read from the
-- partition files $winner_files of the dumps that hold the changed articles.
-- The longest body seen wins, so a truncated copy never hides a complete one.
DELETE FROM articles WHERE article_id IN (SELECT article_id FROM meta.changed_articles);

INSERT INTO articles BY NAME
WITH candidate AS (
    SELECT * FROM meta.dump_articles
    WHERE article_id IN (SELECT article_id FROM meta.changed_articles)
),
winner AS (
    SELECT article_id, dump_id, page_id FROM candidate
    QUALIFY row_number() OVER (
        PARTITION BY article_id ORDER BY body_length DESC, best_crawl_date, dump_id, page_id
    ) = 1
),
seen AS (
    SELECT article_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(sightings) AS sightings
    FROM candidate
    GROUP BY article_id
)
SELECT
    winner.article_id, page.edition, page.source, page.title,
    substr(md5(page.title_key), 1, 16) AS headline_id,
    page.published_raw, page.published_date, page.body,
    coalesce(page.body_language, 'und') AS language, page.body_language_score AS language_score,
    seen.first_seen, seen.last_seen, seen.sightings
FROM read_parquet($winner_files::VARCHAR[]) AS page
JOIN winner ON winner.dump_id = page.dump_id AND winner.page_id = page.page_id
JOIN seen ON seen.article_id = winner.article_id
WHERE page.status = 'ok';  -- not a later page of the dump with the same page_id (duplicate_id)
