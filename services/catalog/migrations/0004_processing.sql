-- Each video's processing: its latest job, as the workers' reports left it. One row per item,
-- replaced when the item is processed again; removed with the item.
CREATE TABLE media_jobs (
    media_id    uuid PRIMARY KEY REFERENCES media (id) ON DELETE CASCADE,
    job_id      uuid NOT NULL,
    state       text NOT NULL CHECK (state IN ('pending', 'in_progress', 'done', 'failed')),
    percent     smallint NOT NULL DEFAULT 0,
    attempts    integer NOT NULL DEFAULT 0,
    reason      text,
    master      text,
    renditions  text[] NOT NULL DEFAULT '{}',
    outputs     jsonb,
    -- False until the queue stored the job: the sweeper puts such jobs on the queue again.
    queued      boolean NOT NULL DEFAULT false,
    queued_at   timestamptz NOT NULL,
    started_at  timestamptz,
    playable_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX media_jobs_unqueued ON media_jobs (queued_at) WHERE NOT queued;
