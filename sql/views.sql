-- Views for the questions users ask first. Each is recreated on every publish.

-- Articles per publication day, source and edition.
CREATE OR REPLACE VIEW daily_article_counts AS
SELECT published_date AS day, source, edition, count(*) AS articles
FROM articles
WHERE published_date IS NOT NULL
GROUP BY ALL;

-- Headlines shown on pages of more than one edition, with the editions and where they ran.
CREATE OR REPLACE VIEW headlines_in_several_editions AS
SELECT
    h.headline_id, h.text, h.language,
    list(DISTINCT p.edition ORDER BY p.edition) AS editions,
    list(DISTINCT p.dump_id ORDER BY p.dump_id) AS dumps,
    h.first_seen, h.last_seen, h.sightings
FROM headlines AS h
JOIN headline_sightings AS s USING (headline_id)
JOIN pages AS p USING (dump_id, page_id)
WHERE p.edition IS NOT NULL
GROUP BY ALL
HAVING count(DISTINCT p.edition) > 1;

-- The ticker as crawled each day: each headline at each position, on how many pages.
CREATE OR REPLACE VIEW daily_ticker AS
SELECT p.crawl_date, s.position, s.headline_id, h.text, h.language, count(*) AS pages
FROM headline_sightings AS s
JOIN pages AS p USING (dump_id, page_id)
JOIN headlines AS h USING (headline_id)
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
