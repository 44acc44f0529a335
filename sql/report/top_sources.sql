-- The twenty sources with the most distinct articles.
SELECT source, edition, count(*) AS articles
FROM articles
GROUP BY ALL
ORDER BY articles DESC, source
LIMIT 20;
