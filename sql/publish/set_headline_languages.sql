-- Set the language of the changed headlines from the identified texts.
UPDATE headlines SET language = known.language, language_score = known.language_score
FROM meta.text_languages AS known
WHERE known.kind = 'headline' AND known.text_md5 = md5(headlines.text)
  AND headlines.headline_id IN (SELECT headline_id FROM meta.changed_headlines);
