-- Load the page and sighting rows of the partition files $part_files.
INSERT INTO pages BY NAME
SELECT
    dump_id, page_id, crawl_date, status, edition, source, title, published_raw, published_date,
    substr(md5(article_key), 1, 16) AS article_id,
    url, encoding, size_bytes, detail
FROM read_parquet($part_files::VARCHAR[]);

INSERT INTO headline_sightings BY NAME
SELECT dump_id, page_id, position, substr(md5(headline_key), 1, 16) AS headline_id
FROM (
    SELECT
        dump_id, page_id,
        unnest(ticker_keys) AS headline_key,
        unnest(range(1, len(ticker_keys) + 1)) AS position
    FROM read_parquet($part_files::VARCHAR[])
);
