-- An item's tags move onto the item as an array of tag ids in order: a GIN index on it lets the
-- planner choose per tag between walking the newest items (a popular tag) and collecting a
-- rare tag's few items, which a join through a link table hid from it.
ALTER TABLE media ADD COLUMN tag_ids bigint[] NOT NULL DEFAULT '{}';
UPDATE media m SET tag_ids = l.ids
FROM (SELECT media_id, array_agg(tag_id ORDER BY position) AS ids FROM media_tags GROUP BY media_id) l
WHERE l.media_id = m.id;
CREATE INDEX media_tag_ids ON media USING gin (tag_ids);
DROP TABLE media_tags;

-- The words of every title, for typo tolerance: a misspelt search word is replaced by the
-- similar words found here (trigrams over a vocabulary, not over every title). Words of any
-- visibility are kept; they only widen a search whose results are filtered as always.
CREATE TABLE search_words (word text PRIMARY KEY);
CREATE INDEX search_words_trigrams ON search_words USING gin (word gin_trgm_ops);

CREATE FUNCTION media_learn_title_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT lexeme FROM unnest(to_tsvector('simple', NEW.title))
    WHERE lexeme ~ '^[[:alnum:]]{3,64}$'
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$;
CREATE TRIGGER media_title_words AFTER INSERT OR UPDATE OF title ON media
    FOR EACH ROW EXECUTE FUNCTION media_learn_title_words();

INSERT INTO search_words (word)
SELECT DISTINCT lexeme FROM media, unnest(to_tsvector('simple', media.title))
WHERE lexeme ~ '^[[:alnum:]]{3,64}$'
ON CONFLICT DO NOTHING;

-- Titles are no longer compared by trigrams one by one.
DROP INDEX media_title_trigrams;
