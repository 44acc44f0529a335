-- The warehouse contract: tables and columns that users' SQL depends on.
-- Add columns freely; never rename or drop the contract ones (docs/contract.md).

-- One row per input page, kept (status = 'ok') or rejected (status = a reason code).
CREATE TABLE IF NOT EXISTS pages (
    dump_id        VARCHAR NOT NULL,
    page_id        VARCHAR NOT NULL,
    crawl_date     DATE,
    status         VARCHAR NOT NULL,
    edition        VARCHAR,
    source         VARCHAR,
    title          VARCHAR,
    published_raw  VARCHAR,
    published_date DATE,
    article_id     VARCHAR,
    url            VARCHAR,
    encoding       VARCHAR,   -- how the page's bytes were decoded: utf-8, utf-8-sig, cp1252, cp1256, utf-16, json
    size_bytes     BIGINT,
    detail         VARCHAR    -- why a page was rejected, in words
);

-- One row per distinct article, however many pages and dumps showed it.
CREATE TABLE IF NOT EXISTS articles (
    article_id     VARCHAR NOT NULL,
    edition        VARCHAR,
    source         VARCHAR,
    title          VARCHAR,
    headline_id    VARCHAR,   -- the headline_id its title has: joins articles to headlines
    published_raw  VARCHAR,
    published_date DATE,
    body           VARCHAR,
    language       VARCHAR NOT NULL,
    language_score DOUBLE,
    first_seen     DATE,
    last_seen      DATE,
    sightings      BIGINT NOT NULL
);

-- One row per ticker item on a page; position is 1-based, in ticker order.
CREATE TABLE IF NOT EXISTS headline_sightings (
    dump_id     VARCHAR NOT NULL,
    page_id     VARCHAR NOT NULL,
    position    INTEGER NOT NULL,
    headline_id VARCHAR NOT NULL
);

-- One row per distinct headline (equal after NFKC, whitespace collapse and case folding).
CREATE TABLE IF NOT EXISTS headlines (
    headline_id    VARCHAR NOT NULL,
    text           VARCHAR NOT NULL,
    language       VARCHAR NOT NULL,
    language_score DOUBLE,
    first_seen     DATE,
    last_seen      DATE,
    sightings      BIGINT NOT NULL
);

-- One row per headline that has at least one near-duplicate; the cluster groups them.
CREATE TABLE IF NOT EXISTS headline_clusters (
    headline_id VARCHAR NOT NULL,
    cluster_id  VARCHAR NOT NULL
);

-- Scored candidate pairs of headlines telling the same story in two languages.
CREATE TABLE IF NOT EXISTS headline_translations (
    headline_id_a VARCHAR NOT NULL,
    headline_id_b VARCHAR NOT NULL,
    score         DOUBLE NOT NULL
);

-- One row per headline that has a near-duplicate or a translation: a story groups them all.
CREATE TABLE IF NOT EXISTS headline_stories (
    headline_id VARCHAR NOT NULL,
    story_id    VARCHAR NOT NULL
);

-- Bookkeeping of the publish step, outside the contract.
CREATE SCHEMA IF NOT EXISTS meta;

-- Which partition file of each dump the tables hold, so a publish reloads only what changed.
CREATE TABLE IF NOT EXISTS meta.loaded_dumps (
    dump_id        VARCHAR NOT NULL,
    part_signature VARCHAR NOT NULL,  -- size and modification time of the partition file
    loaded_at      TIMESTAMP NOT NULL
);

-- Each distinct headline text is identified once: its language, by md5 of the text.
CREATE TABLE IF NOT EXISTS meta.text_languages (
    text_md5       VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,  -- 'headline' (article bodies are identified at parse time)
    language       VARCHAR NOT NULL,
    language_score DOUBLE
);
