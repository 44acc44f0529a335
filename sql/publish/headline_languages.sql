-- The changed headlines whose text was never identified, with the edition of the pages that
-- show them most often as the prior (ties: the first edition by name).
WITH unknown AS (
    SELECT headline_id, text
    FROM headlines
    ANTI JOIN meta.text_languages AS known ON known.kind = 'headline' AND known.text_md5 = md5(text)
    WHERE headline_id IN (SELECT headline_id FROM meta.changed_headlines)
),
by_edition AS (
    SELECT headline_id, edition, sum(sightings) AS sightings
    FROM meta.dump_headlines
    WHERE edition IS NOT NULL AND headline_id IN (SELECT headline_id FROM unknown)
    GROUP BY ALL
),
seen AS (
    SELECT headline_id, edition FROM by_edition
    QUALIFY row_number() OVER (PARTITION BY headline_id ORDER BY sightings DESC, edition) = 1
)
SELECT md5(text) AS text_md5, text, edition
FROM unknown
LEFT JOIN seen USING (headline_id);
