-- Bookkeeping of the incremental publish, outside the contract (sql/schema.sql has the rest).
-- Each dump's share of the distinct tables is kept per dump, so that a publish recomputes only
-- the articles and headlines that the dumps it loads or removes touch: every aggregate below
-- (min, max, sum, the first in an order) can be combined over dumps without reading them again.

-- Per dump and article: the dump's best page for the article (longest body, then earliest
-- crawl, then page_id) and when and how often the dump shows it.
CREATE TABLE IF NOT EXISTS meta.dump_articles (
    dump_id         VARCHAR NOT NULL,
    article_id      VARCHAR NOT NULL,
    page_id         VARCHAR NOT NULL,  -- the dump's best page for the article
    body_length     BIGINT,            -- its body's length in characters
    best_crawl_date DATE,              -- its crawl date
    first_seen      DATE,
    last_seen       DATE,
    sightings       BIGINT NOT NULL
);

-- Per dump, headline and edition of the pages showing it: the dump's first spelling (by crawl
-- date, then text), when and how often the dump shows it.
CREATE TABLE IF NOT EXISTS meta.dump_headlines (
    dump_id     VARCHAR NOT NULL,
    headline_id VARCHAR NOT NULL,
    edition     VARCHAR,
    spelling    VARCHAR NOT NULL,
    first_seen  DATE,
    last_seen   DATE,
    sightings   BIGINT NOT NULL
);

-- What the latest publish changed: the dumps it loaded, and the articles and headlines it
-- recomputed (those the dumps it loaded or removed show). A publish empties them first; after
-- its commit they say which rows its snapshot's checks validate (expectations/README.md).
CREATE TABLE IF NOT EXISTS meta.changed_dumps (dump_id VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS meta.changed_articles (article_id VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS meta.changed_headlines (headline_id VARCHAR NOT NULL);

-- The dumps folder of the last publish: a publish from another folder may not remove dumps
-- unless told to (newsdesk/removals.py).
CREATE TABLE IF NOT EXISTS meta.dumps_folder (path VARCHAR NOT NULL);

-- The layout of the tables above; a warehouse written by another layout is rebuilt.
CREATE TABLE IF NOT EXISTS meta.publish_format (version INTEGER NOT NULL);
