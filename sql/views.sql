-- Views for the questions users ask first. Each is recreated on every publish.

-- Articles per publication day, source and edition.
CREATE OR REPLACE VIEW daily_article_counts AS
SELECT published_date AS day, source, edition, count(*) AS articles
FROM articles
WHERE published_date IS NOT NULL
GROUP BY ALL;

-- Headlines shown on pages of more than one edition, with the editions and where they ran.
-- Editions come from meta.dump_headlines, the publish's per dump, headline and page edition
-- summary of the sightings: a few rows per headline and dump instead of every ticker sighting.
CREATE OR REPLACE VIEW headlines_in_several_editions AS
SELECT
    h.headline_id, h.text, h.language,
    list(DISTINCT d.edition ORDER BY d.edition) AS editions,
    list(DISTINCT d.dump_id ORDER BY d.dump_id) AS dumps,
    h.first_seen, h.last_seen, h.sightings
FROM headlines AS h
JOIN meta.dump_headlines AS d USING (headline_id)
WHERE d.edition IS NOT NULL
GROUP BY ALL
HAVING count(DISTINCT d.edition) > 1;

-- The ticker as crawled each day: each headline at each position, on how many pages.
CREATE OR REPLACE VIEW daily_ticker AS
SELECT p.crawl_date, s.position, s.headline_id, h.text, h.language, count(*) AS pages
FROM headline_sightings AS s
JOIN pages AS p USING (dump_id, page_id)
JOIN headlines AS h USING (headline_id)
WHERE p.status <> 'duplicate_id'  -- a repeated page_id's later pages have no ticker
GROUP BY ALL;

-- Articles whose detected language is not their edition's (und excluded).
CREATE OR REPLACE VIEW articles_off_edition_language AS
SELECT article_id, edition, language, language_score, source, title, published_date
FROM articles
WHERE language <> 'und' AND language <> edition;

-- Pages rejected, per dump and reason, with an example page.
CREATE OR REPLACE VIEW rejections AS
SELECT dump_id, status, count(*) AS pages, min(page_id) AS example_page, any_value(detail) AS example_detail
FROM pages
WHERE status <> 'ok'
GROUP BY ALL;

-- Stories told more than once across editions (near-duplicate and translated headlines grouped
-- in headline_stories): their editions, sources, languages, first and last seen, sample texts.
-- A story's editions are those of the pages showing its headlines (from meta.dump_headlines,
-- as above) and of articles titled so.
CREATE OR REPLACE VIEW cross_edition_stories AS
WITH member AS (
    SELECT st.story_id, h.*
    FROM headline_stories AS st JOIN headlines AS h USING (headline_id)
),
edition AS (
    SELECT m.story_id, d.edition
    FROM member AS m
    JOIN meta.dump_headlines AS d USING (headline_id)
    UNION
    SELECT m.story_id, a.edition FROM member AS m JOIN articles AS a USING (headline_id)
),
source AS (
    SELECT m.story_id, a.source FROM member AS m JOIN articles AS a USING (headline_id)
),
story AS (
    SELECT
        story_id,
        count(*) AS headlines,
        list(DISTINCT language ORDER BY language) AS languages,
        min(first_seen) AS first_seen,
        max(last_seen) AS last_seen,
        sum(sightings)::BIGINT AS sightings,  -- a count: BIGINT, not the HUGEINT of a sum
        list(text ORDER BY sightings DESC, text)[1:3] AS sample_texts
    FROM member
    GROUP BY story_id
)
SELECT
    story.story_id,
    story.headlines,
    coalesce((SELECT list(DISTINCT e.edition ORDER BY e.edition) FROM edition AS e
              WHERE e.story_id = story.story_id AND e.edition IS NOT NULL), []) AS editions,
    coalesce((SELECT list(DISTINCT s.source ORDER BY s.source) FROM source AS s
              WHERE s.story_id = story.story_id), []) AS sources,
    story.languages, story.first_seen, story.last_seen, story.sightings, story.sample_texts
FROM story
WHERE len(story.languages) > 1
   OR (SELECT count(DISTINCT e.edition) FROM edition AS e WHERE e.story_id = story.story_id) > 1;
