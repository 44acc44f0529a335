-- Detected language of article bodies, by edition.
SELECT edition, language, count(*) AS articles
FROM articles
GROUP BY ALL
ORDER BY edition, articles DESC;
