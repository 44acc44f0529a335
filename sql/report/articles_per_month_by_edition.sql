-- Articles per month of publication, by edition.
SELECT date_trunc('month', published_date) AS month, edition, count(*) AS articles
FROM articles
WHERE published_date IS NOT NULL
GROUP BY ALL
ORDER BY month, edition;
