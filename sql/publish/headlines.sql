-- headlines: one row per distinct headline (NFKC, whitespace collapse, case folding), with the
-- spelling seen first, from the sightings in the warehouse and the texts in $all_part_files.
DELETE FROM headlines;

INSERT INTO headlines BY NAME
WITH spelling AS (
    SELECT
        substr(md5(headline_key), 1, 16) AS headline_id,
        first(text ORDER BY crawl_date NULLS LAST, text) AS text
    FROM (
        SELECT unnest(ticker_keys) AS headline_key, unnest(ticker) AS text, crawl_date
        FROM (SELECT DISTINCT ticker, ticker_keys, crawl_date FROM read_parquet($all_part_files::VARCHAR[]))
    )
    GROUP BY headline_id
),
seen AS (
    SELECT s.headline_id, min(p.crawl_date) AS first_seen, max(p.crawl_date) AS last_seen, count(*) AS sightings
    FROM headline_sightings AS s
    JOIN pages AS p USING (dump_id, page_id)
    GROUP BY s.headline_id
)
SELECT
    headline_id, text,
    coalesce(known.language, 'und') AS language, known.language_score,
    first_seen, last_seen, sightings
FROM seen
JOIN spelling USING (headline_id)
LEFT JOIN meta.text_languages AS known ON known.text_md5 = md5(spelling.text) AND known.kind = 'headline';
