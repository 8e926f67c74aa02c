-- Media items, the shared tag list and which item carries which tag.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE media (
    id           uuid PRIMARY KEY,
    owner_id     text NOT NULL,
    owner_name   text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('video', 'image')),
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    visibility   text NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private')),
    status       text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    sha256       bytea NOT NULL CHECK (length(sha256) = 32),
    upload_id    text,
    part_size    bigint,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    uploaded_at  timestamptz,
    -- Title words weigh more than description words. 'simple': no stemming, so prefixes of
    -- any language match; typo tolerance comes from trigrams on the title.
    search       tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A') ||
        setweight(to_tsvector('simple', description), 'B')
    ) STORED
);

CREATE INDEX media_search ON media USING gin (search);
CREATE INDEX media_title_trigrams ON media USING gin (lower(title) gin_trgm_ops);
CREATE INDEX media_newest ON media (created_at DESC, id DESC);
CREATE INDEX media_owner ON media (owner_id, created_at DESC);
CREATE INDEX media_owner_name ON media (owner_name, created_at DESC);
CREATE INDEX media_awaiting ON media (created_at) WHERE status = 'awaiting_upload';

CREATE TABLE tags (
    id   bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE
);
-- Prefix lookups for the tag box (text_pattern_ops: LIKE 'abc%' whatever the collation).
CREATE INDEX tags_prefix ON tags (name text_pattern_ops);

CREATE TABLE media_tags (
    media_id uuid NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    tag_id   bigint NOT NULL REFERENCES tags (id),
    position smallint NOT NULL,
    PRIMARY KEY (media_id, tag_id)
);
CREATE INDEX media_tags_by_tag ON media_tags (tag_id, media_id);
