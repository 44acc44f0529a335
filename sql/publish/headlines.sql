-- headlines: one row per distinct headline (NFKC, whitespace collapse, case folding), with the
-- spelling seen first. Recomputes the changed headlines (meta.changed_headlines) from every
-- dump's share (meta.dump_headlines); languages known from earlier publishes are reused.
DELETE FROM headlines WHERE headline_id IN (SELECT headline_id FROM meta.changed_headlines);

INSERT INTO headlines BY NAME
WITH seen AS (
    SELECT
        headline_id,
        first(spelling ORDER BY first_seen NULLS LAST, spelling) AS text,
        min(first_seen) AS first_seen,
        max(last_seen) AS last_seen,
        sum(sightings) AS sightings
    FROM meta.dump_headlines
    WHERE headline_id IN (SELECT headline_id FROM meta.changed_headlines)
    GROUP BY headline_id
)
SELECT
    headline_id, text,
    coalesce(known.language, 'und') AS language, known.language_score,
    first_seen, last_seen, sightings
FROM seen
LEFT JOIN meta.text_languages AS known ON known.text_md5 = md5(seen.text) AND known.kind = 'headline';
