//! A search as the store runs it: the words of the query (never its syntax), tag filters, whose
//! items, and where the previous page ended.
//!
//! The query is cut into words of letters and digits; everything else (`'`, `&`, `|`, `!`,
//! `:*`, `\`, parentheses) only separates words. Each word becomes a prefix term, all must
//! match, so `spee run` finds "Speedrun practice". Typo tolerance: when nothing matches, the
//! store looks up words of titles similar to each query word (trigrams) and searches again with
//! them as alternatives ([`SearchText::with_alternatives`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tags::{Tag, TAG_MAX_CHARS};

pub const MAX_WORDS: usize = 8;
pub const MAX_WORD_CHARS: usize = 64;
pub const MAX_QUERY_CHARS: usize = 200;
pub const MAX_TAG_FILTERS: usize = 5;
pub const PAGE_SIZE: u32 = 24;
/// A ranked search orders the newest this many matches by relevance, ten pages; pages past
/// them are not served (no index returns rows in relevance order, so every candidate is
/// scored on each page).
pub const RANKED_RESULTS: u32 = 240;
/// Similar words tried in place of a query word that matches nothing.
pub const MAX_ALTERNATIVES: usize = 3;

/// The words of a query, ready for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    /// The words, lower case.
    pub words: Vec<String>,
    /// `word:* & word:*`: a `to_tsquery('simple', …)` text made of letters and digits only.
    pub tsquery: String,
}

impl SearchText {
    /// `None` when the query holds no word (then the listing is newest-first).
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(format!("a search is at most {MAX_QUERY_CHARS} characters"));
        }
        let words: Vec<String> = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(MAX_WORDS)
            .map(|w| {
                w.chars()
                    .take(MAX_WORD_CHARS)
                    .collect::<String>()
                    .to_lowercase()
            })
            .collect();
        if words.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            tsquery: words
                .iter()
                .map(|w| format!("{w}:*"))
                .collect::<Vec<_>>()
                .join(" & "),
            words,
        }))
    }

    /// The tsquery text with each word widened to `word:* | alternative | …`, the alternatives
    /// of word `i` at `alternatives[i]` (words of letters and digits only; anything else is
    /// dropped, so the text stays free of tsquery syntax whatever the store returned).
    pub fn with_alternatives(&self, alternatives: &[Vec<String>]) -> String {
        self.words
            .iter()
            .enumerate()
            .map(|(i, word)| {
                let mut terms = vec![format!("{word}:*")];
                for alternative in alternatives.get(i).into_iter().flatten() {
                    let plain = !alternative.is_empty()
                        && alternative.chars().all(char::is_alphanumeric)
                        && alternative.chars().count() <= MAX_WORD_CHARS;
                    if plain && alternative != word && terms.len() <= MAX_ALTERNATIVES {
                        terms.push(alternative.to_lowercase());
                    }
                }
                format!("({})", terms.join(" | "))
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

/// Where the next page starts: after an item of the newest-first order, or at an offset of the
/// ranked order. Opaque to clients (base64url JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Cursor {
    After { at: DateTime<Utc>, id: Uuid },
    Offset { n: u32 },
}

impl Cursor {
    pub fn encode(&self) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        use base64::Engine;
        if raw.len() > 200 {
            return None;
        }
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .ok()?;
        let cursor: Self = serde_json::from_slice(&json).ok()?;
        match cursor {
            Self::Offset { n } if n >= RANKED_RESULTS => None,
            other => Some(other),
        }
    }
}

/// Everything a listing or search asks of the store.
#[derive(Debug, Clone, Default)]
pub struct MediaQuery {
    pub text: Option<SearchText>,
    /// Every tag must be on an item.
    pub tags: Vec<Tag>,
    /// Only this user's items (by username).
    pub owner: Option<String>,
    /// The signed-in caller's user id: their own items show whatever their visibility or
    /// state; everyone else's only when public and uploaded.
    pub caller: Option<String>,
    pub cursor: Option<Cursor>,
    pub limit: u32,
}

/// Parses the `tags` query parameter: comma-separated tags, at most [`MAX_TAG_FILTERS`].
pub fn parse_tag_filter(raw: &str) -> Result<Vec<Tag>, String> {
    let tags = raw
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(Tag::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if tags.len() > MAX_TAG_FILTERS {
        return Err(format!("filter by at most {MAX_TAG_FILTERS} tags"));
    }
    if tags
        .iter()
        .any(|t| t.as_str().chars().count() > TAG_MAX_CHARS)
    {
        return Err("tag too long".into());
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_prefix_terms_and_syntax_is_dropped() {
        let text = SearchText::parse("Speed-run 2024")
            .expect("ok")
            .expect("words");
        assert_eq!(text.tsquery, "speed:* & run:* & 2024:*");
        assert_eq!(text.words, ["speed", "run", "2024"]);
        for hostile in [
            "' OR 1=1 --",
            "a & b | !c",
            "x:* \\ y",
            "(a) <-> b",
            "'; DROP TABLE media; --",
        ] {
            let text = SearchText::parse(hostile).expect("ok").expect("words");
            assert!(
                text.tsquery.split(" & ").all(|t| t
                    .strip_suffix(":*")
                    .is_some_and(|w| w.chars().all(char::is_alphanumeric))),
                "{hostile} → {}",
                text.tsquery
            );
        }
        assert_eq!(SearchText::parse("  &|!:* ").expect("ok"), None);
    }

    #[test]
    fn alternatives_widen_each_word_and_never_carry_syntax() {
        let text = SearchText::parse("streming practis")
            .expect("ok")
            .expect("words");
        let alternatives = vec![
            vec!["streaming".to_owned(), "streming".to_owned()],
            vec![
                "practice".to_owned(),
                "x|y".to_owned(),
                "a:*".to_owned(),
                String::new(),
                "practise".to_owned(),
                "practised".to_owned(),
                "practises".to_owned(),
            ],
        ];
        assert_eq!(
            text.with_alternatives(&alternatives),
            "(streming:* | streaming) & (practis:* | practice | practise | practised)"
        );
        assert_eq!(text.with_alternatives(&[]), "(streming:*) & (practis:*)");
    }

    #[test]
    fn long_queries_are_refused_and_words_are_capped() {
        assert!(SearchText::parse(&"a".repeat(MAX_QUERY_CHARS + 1)).is_err());
        let many = (0..20)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let text = SearchText::parse(&many).expect("ok").expect("words");
        assert_eq!(text.tsquery.matches(":*").count(), MAX_WORDS);
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let after = Cursor::After {
            at: Utc::now(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&after.encode()), Some(after));
        assert_eq!(
            Cursor::decode(&Cursor::Offset { n: 24 }.encode()),
            Some(Cursor::Offset { n: 24 })
        );
        assert_eq!(Cursor::decode(&Cursor::Offset { n: 5000 }.encode()), None);
        assert_eq!(Cursor::decode("not base64 !"), None);
        assert_eq!(Cursor::decode("e30"), None);
    }

    #[test]
    fn tag_filters_are_tags() {
        let tags = parse_tag_filter("Rust, obs,").expect("ok");
        assert_eq!(tags.len(), 2);
        assert!(parse_tag_filter("a,b,c,d,e,f").is_err());
        assert!(parse_tag_filter("bad\u{202e}").is_err());
    }
}
