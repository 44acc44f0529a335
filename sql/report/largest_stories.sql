-- The fifteen cross-edition stories seen most often.
SELECT story_id, headlines, editions, languages, sightings, first_seen, last_seen, sample_texts[1] AS sample_text
FROM cross_edition_stories
ORDER BY sightings DESC, story_id
LIMIT 15;
