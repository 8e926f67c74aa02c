-- How many public items carry each tag, counted by the sweep: autocomplete reads this instead
-- of joining every tagged item on each keystroke.
ALTER TABLE tags ADD COLUMN public_count bigint NOT NULL DEFAULT 0;
CREATE INDEX tags_by_count ON tags (public_count DESC, name);
