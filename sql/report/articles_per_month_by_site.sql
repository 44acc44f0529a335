-- Articles per month of publication, by aggregator site: the host of a page's URL, else the
-- first word of its dump's name (dumps are named after their site, e.g. maghress-fr-2026-02-18).
WITH article_site AS (
    SELECT
        article_id,
        min(coalesce(
            nullif(regexp_extract(url, '^[a-z]+://(?:www\.)?([^/:.]+)', 1), ''),
            regexp_extract(dump_id, '^([^-_ .]+)', 1)
        )) AS site
    FROM pages
    WHERE status = 'ok'
    GROUP BY article_id
)
SELECT date_trunc('month', a.published_date) AS month, s.site, count(*) AS articles
FROM articles AS a
JOIN article_site AS s USING (article_id)
WHERE a.published_date IS NOT NULL
GROUP BY ALL
ORDER BY month, site;
