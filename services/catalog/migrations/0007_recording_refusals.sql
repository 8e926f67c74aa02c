-- Why a finished recording was refused as a video (over the owner's quota, larger than an
-- upload may be), for the owner's dashboard; the ingest keeps such a recording for an operator.
ALTER TABLE recordings ADD COLUMN refused_reason text;
