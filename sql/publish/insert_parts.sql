-- Load the partition files $part_files: their pages and ticker sightings, and each dump's
-- share of the distinct articles and headlines, which are marked changed for recomputing.
INSERT INTO pages BY NAME
SELECT
    dump_id, page_id, crawl_date, status, edition, source, title, published_raw, published_date,
    substr(md5(article_key), 1, 16) AS article_id,
    url, encoding, size_bytes, detail
FROM read_parquet($part_files::VARCHAR[]);

-- A dump's pages come in groups of one edition, crawl date and ticker (ticker_group), and the
-- group's first page holds the ticker: its texts, and its ids, substr(md5(headline_key), 1, 16)
-- of each item, hashed at parse time. A page rejected as duplicate_id shows no ticker, though
-- it may hold its group's.
INSERT INTO headline_sightings BY NAME
SELECT
    page.dump_id, page.page_id,
    unnest(range(1, len(held.ticker_ids) + 1)) AS position, unnest(held.ticker_ids) AS headline_id
FROM read_parquet($part_files::VARCHAR[]) AS page
JOIN (
    SELECT dump_id, ticker_group, ticker_ids FROM read_parquet($part_files::VARCHAR[]) WHERE ticker_ids IS NOT NULL
) AS held USING (dump_id, ticker_group)
WHERE page.status <> 'duplicate_id';

-- The best page of an article is the one with the longest body, then the earliest crawl:
-- a truncated copy never hides a complete one.
INSERT INTO meta.dump_articles BY NAME
SELECT
    dump_id, article_id, page_id, body_length, crawl_date AS best_crawl_date,
    min(crawl_date) OVER dump_article AS first_seen,
    max(crawl_date) OVER dump_article AS last_seen,
    count(*) OVER dump_article AS sightings
FROM (
    SELECT dump_id, substr(md5(article_key), 1, 16) AS article_id, page_id, body_length, crawl_date
    FROM read_parquet($part_files::VARCHAR[])
    WHERE status = 'ok'
)
WINDOW dump_article AS (PARTITION BY dump_id, article_id)
QUALIFY row_number() OVER (PARTITION BY dump_id, article_id ORDER BY body_length DESC, crawl_date, page_id) = 1;

-- The first spelling of a headline is the one crawled first, then the smallest text. Each
-- ticker group's pages are counted, then its ticker unnested once.
INSERT INTO meta.dump_headlines BY NAME
SELECT
    dump_id, headline_id, edition,
    first(spelling ORDER BY crawl_date NULLS LAST, spelling) AS spelling,
    min(crawl_date) AS first_seen,
    max(crawl_date) AS last_seen,
    sum(sightings) AS sightings
FROM (
    SELECT dump_id, edition, crawl_date, headline_id, min(text) AS spelling, sum(pages) AS sightings
    FROM (
        SELECT dump_id, edition, crawl_date, pages, unnest(ticker_ids) AS headline_id, unnest(ticker) AS text
        FROM (
            SELECT dump_id, ticker_group, any_value(edition) AS edition, any_value(crawl_date) AS crawl_date, count(*) AS pages
            FROM read_parquet($part_files::VARCHAR[])
            WHERE ticker_group IS NOT NULL AND status <> 'duplicate_id'
            GROUP BY dump_id, ticker_group
        )
        JOIN (
            SELECT dump_id, ticker_group, ticker, ticker_ids
            FROM read_parquet($part_files::VARCHAR[])
            WHERE ticker IS NOT NULL
        ) USING (dump_id, ticker_group)
    )
    GROUP BY ALL
)
GROUP BY dump_id, headline_id, edition;

INSERT INTO meta.changed_articles
SELECT DISTINCT article_id FROM meta.dump_articles WHERE dump_id IN (SELECT DISTINCT dump_id FROM read_parquet($part_files::VARCHAR[]));

INSERT INTO meta.changed_headlines
SELECT DISTINCT headline_id FROM meta.dump_headlines WHERE dump_id IN (SELECT DISTINCT dump_id FROM read_parquet($part_files::VARCHAR[]));
