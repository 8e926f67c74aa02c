//! The rules of a processing-progress stream (`GET /api/media/progress`): which items a client
//! may ask for at once, and which of the records that reach a stream it is sent. Records come
//! from several places (the database when the stream opens, every replica's announcements after
//! it), so the same state can arrive twice and an older one late; a stream only ever moves an
//! item forward.

use std::collections::HashMap;

use super::{
    processing::{JobState, Processing},
    MediaId,
};

/// Items one stream may follow.
pub const MAX_IDS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdsError {
    #[error("name the items to follow: ?ids=<id>,<id>,… (1-{MAX_IDS} media ids)")]
    Missing,
    #[error("at most {MAX_IDS} media ids per stream, {0} were given")]
    TooMany(usize),
    #[error("not a media id: {0:?}")]
    Malformed(String),
}

/// The ids of `?ids=`, comma-separated, each a media id; repeats are dropped, the order kept.
pub fn parse_ids(raw: Option<&str>) -> Result<Vec<MediaId>, IdsError> {
    let parts: Vec<&str> = raw
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(IdsError::Missing);
    }
    if parts.len() > MAX_IDS {
        return Err(IdsError::TooMany(parts.len()));
    }
    let mut ids: Vec<MediaId> = Vec::with_capacity(parts.len());
    for part in parts {
        let id = MediaId::parse(part)
            .ok_or_else(|| IdsError::Malformed(part.chars().take(40).collect()))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// How far a job's record is: its state, then its percent, then what plays, then its tries.
fn stage(p: &Processing) -> (u8, u8, usize, bool, u32) {
    let state = match p.state {
        JobState::Pending => 0,
        JobState::InProgress => 1,
        JobState::Done | JobState::Failed => 2,
    };
    (
        state,
        p.percent,
        p.renditions.len(),
        p.master.is_some(),
        p.attempts,
    )
}

/// Whether `next` is further than `last`: a later job (a video processed again), or the same
/// job further along. The same record again, or one that was overtaken, is not.
pub fn is_newer(next: &Processing, last: &Processing) -> bool {
    if next.job_id != last.job_id {
        return next.queued_at >= last.queued_at;
    }
    stage(next) > stage(last)
}

/// The items one stream follows and the record it last sent of each.
#[derive(Debug, Default)]
pub struct Watched {
    last: HashMap<MediaId, Option<Processing>>,
}

impl Watched {
    /// Follows `id`, whose record is `current` now (sent as the stream's first event of it).
    pub fn follow(&mut self, id: MediaId, current: Option<Processing>) {
        self.last.insert(id, current);
    }

    pub fn follows(&self, id: MediaId) -> bool {
        self.last.contains_key(&id)
    }

    /// Whether `next` should go out for `id`, remembering it when it should: only for followed
    /// items, and only when it moves the item forward.
    pub fn admit(&mut self, id: MediaId, next: &Processing) -> bool {
        let Some(last) = self.last.get_mut(&id) else {
            return false;
        };
        if last.as_ref().is_some_and(|last| !is_newer(next, last)) {
            return false;
        }
        *last = Some(next.clone());
        true
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};
    use uuid::Uuid;

    use super::*;

    fn id(n: u128) -> MediaId {
        MediaId(Uuid::from_u128(n))
    }

    #[test]
    fn ids_are_comma_separated_media_ids_without_repeats() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let raw = format!(" {a}, {b},{a},");
        assert_eq!(
            parse_ids(Some(&raw)),
            Ok(vec![MediaId(a), MediaId(b)]),
            "trimmed, repeats dropped, order kept"
        );
    }

    #[test]
    fn no_ids_too_many_or_a_malformed_one_is_refused_saying_why() {
        assert_eq!(parse_ids(None), Err(IdsError::Missing));
        assert_eq!(parse_ids(Some(" , ")), Err(IdsError::Missing));
        let many: Vec<String> = (0..=MAX_IDS as u128)
            .map(|n| Uuid::from_u128(n).to_string())
            .collect();
        assert_eq!(
            parse_ids(Some(&many.join(","))),
            Err(IdsError::TooMany(MAX_IDS + 1))
        );
        let bad = format!("{},../etc/passwd", Uuid::from_u128(1));
        let error = parse_ids(Some(&bad)).expect_err("refused");
        assert_eq!(error, IdsError::Malformed("../etc/passwd".into()));
        assert!(error.to_string().contains("../etc/passwd"), "{error}");
    }

    #[test]
    fn a_stream_moves_an_item_forward_only() {
        let job = Uuid::new_v4();
        let pending = Processing::new(job, Utc::now());
        let mut watched = Watched::default();
        watched.follow(id(1), Some(pending.clone()));
        assert!(!watched.admit(id(1), &pending), "the same record twice");
        let half = Processing {
            state: JobState::InProgress,
            percent: 50,
            ..pending.clone()
        };
        let quarter = Processing {
            percent: 25,
            ..half.clone()
        };
        assert!(watched.admit(id(1), &half));
        assert!(!watched.admit(id(1), &quarter), "an overtaken record");
        let done = Processing {
            state: JobState::Done,
            percent: 100,
            ..half.clone()
        };
        assert!(watched.admit(id(1), &done));
        assert!(!watched.admit(id(1), &half), "nothing after the end");
        let again = Processing::new(Uuid::new_v4(), pending.queued_at + Duration::seconds(5));
        assert!(watched.admit(id(1), &again), "a new job starts over");
    }

    #[test]
    fn only_followed_items_pass_and_the_first_record_of_one_without_any_does() {
        let mut watched = Watched::default();
        watched.follow(id(1), None);
        let pending = Processing::new(Uuid::new_v4(), Utc::now());
        assert!(!watched.admit(id(2), &pending), "not followed");
        assert!(watched.follows(id(1)) && !watched.follows(id(2)));
        assert!(
            watched.admit(id(1), &pending),
            "finalized since the stream opened"
        );
    }
}
