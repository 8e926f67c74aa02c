-- Encrypted videos: the key id (public, it is in every manifest) and the content key sealed
-- with the platform key for the item's id (key id, key and IV; AES-256-GCM). Both or neither.
ALTER TABLE media
    ADD COLUMN key_id bytea CHECK (length(key_id) = 16),
    ADD COLUMN sealed_key bytea,
    ADD CONSTRAINT media_key_whole CHECK ((key_id IS NULL) = (sealed_key IS NULL));

-- Each owner's choices for what they upload next.
CREATE TABLE owner_settings (
    owner_id       text PRIMARY KEY,
    encrypt_videos boolean NOT NULL DEFAULT false,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
