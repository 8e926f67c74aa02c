-- Past broadcasts: whether an owner keeps their live streams as videos (on unless they opt out),
-- and one row per recorded broadcast, named by the ingest's recording id (its room session), so a
-- registration retried after a lost answer finds the video it made instead of making another.
ALTER TABLE owner_settings
    ADD COLUMN save_past_broadcasts boolean NOT NULL DEFAULT true;

CREATE TABLE recordings (
    recording_id   text PRIMARY KEY CHECK (recording_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    owner_id       text NOT NULL,
    owner_name     text NOT NULL,
    media_id       uuid,
    stopped_reason text,
    finalized      boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recordings_owner ON recordings (owner_id, created_at DESC);
