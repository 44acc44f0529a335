-- articles: one row per distinct article (same source, title and publication date after NFKC,
-- whitespace and case folding). Recomputes the changed articles (meta.changed_articles) from
-- every dump's share (meta.dump_articles): which page wins, and when the article was seen.
-- The longest body seen wins, so a truncated copy never hides a complete one. The winners'
-- texts are then read from their dumps' partition files, a dump at a time (articles_text.sql).
DELETE FROM articles WHERE article_id IN (SELECT article_id FROM meta.changed_articles);

CREATE OR REPLACE TEMP TABLE article_winners AS
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
SELECT winner.*, seen.first_seen, seen.last_seen, seen.sightings
FROM winner JOIN seen USING (article_id);
