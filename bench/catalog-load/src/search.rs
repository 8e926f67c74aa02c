//! Search latency: a mix of what people type into the library's search box (whole words,
//! prefixes while typing, typos, tag filters, the newest-first listing paged by cursor) and
//! what the tag box asks for, sent open loop at a fixed rate; and, for any kind of query that
//! misses the target, the plan PostgreSQL runs for its slowest request (`EXPLAIN ANALYZE`).

use std::collections::HashMap;

use anyhow::Context;
use ferrocast_catalog::{
    adapters::postgres::{self, PgMediaStore},
    domain::{
        search::{parse_tag_filter, PAGE_SIZE},
        Cursor, MediaQuery, SearchText,
    },
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::Value;

use crate::{
    load::Planned,
    seed::{tag_names, Zipf, WORDS},
};

/// One search as the bench asks it.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub kind: &'static str,
    pub q: Option<String>,
    pub tags: Vec<String>,
    pub cursor: Option<String>,
    /// `GET /api/tags?prefix=` instead of a media search.
    pub tag_prefix: Option<String>,
}

impl Query {
    pub fn path(&self) -> String {
        if let Some(prefix) = &self.tag_prefix {
            return format!("/api/tags?prefix={}", encode(prefix));
        }
        let mut params = Vec::new();
        if let Some(q) = &self.q {
            params.push(format!("q={}", encode(q)));
        }
        if !self.tags.is_empty() {
            params.push(format!("tags={}", encode(&self.tags.join(","))));
        }
        if let Some(cursor) = &self.cursor {
            params.push(format!("cursor={}", encode(cursor)));
        }
        if params.is_empty() {
            "/api/media".into()
        } else {
            format!("/api/media?{}", params.join("&"))
        }
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The words people search for: the vocabulary without its two fillers ("the", "and").
fn query_words() -> &'static [&'static str] {
    &WORDS[2..]
}

/// `count` media searches: 30 % whole words (one or two), 20 % prefixes of a word being typed,
/// 15 % a word with one wrong letter, 15 % tag filters (half with a word), 20 % the
/// newest-first listing (a quarter the first page, the rest a later page by cursor).
pub fn media_plan(count: usize, tags: usize, cursors: &[String]) -> Vec<Query> {
    let mut rng = StdRng::seed_from_u64(99);
    let words = query_words();
    let word_rank = Zipf::new(words.len(), 1.0);
    let tag_list = tag_names(tags);
    let tag_rank = Zipf::new(tag_list.len(), 1.0);
    let word = |rng: &mut StdRng| words[word_rank.sample(rng)].to_owned();
    (0..count)
        .map(|_| {
            let roll: f64 = rng.gen();
            if roll < 0.30 {
                let mut q = word(&mut rng);
                if rng.gen_bool(0.3) {
                    q = format!("{q} {}", word(&mut rng));
                }
                Query {
                    kind: "whole words",
                    q: Some(q),
                    ..Query::default()
                }
            } else if roll < 0.50 {
                let w = loop {
                    let w = word(&mut rng);
                    if w.len() >= 5 {
                        break w;
                    }
                };
                let cut = rng.gen_range(3..w.len());
                Query {
                    kind: "prefix",
                    q: Some(w[..cut].to_owned()),
                    ..Query::default()
                }
            } else if roll < 0.65 {
                let w = loop {
                    let w = word(&mut rng);
                    if w.len() >= 6 {
                        break w;
                    }
                };
                let mut letters: Vec<u8> = w.into_bytes();
                let at = rng.gen_range(1..letters.len() - 1);
                let wrong = loop {
                    let c = rng.gen_range(b'a'..=b'z');
                    if c != letters[at] {
                        break c;
                    }
                };
                letters[at] = wrong;
                Query {
                    kind: "typo",
                    q: Some(String::from_utf8_lossy(&letters).into_owned()),
                    ..Query::default()
                }
            } else if roll < 0.80 {
                let mut chosen = vec![tag_list[tag_rank.sample(&mut rng)].clone()];
                if rng.gen_bool(0.3) {
                    let other = tag_list[tag_rank.sample(&mut rng)].clone();
                    if !chosen.contains(&other) {
                        chosen.push(other);
                    }
                }
                Query {
                    kind: "tag filter",
                    q: rng.gen_bool(0.5).then(|| word(&mut rng)),
                    tags: chosen,
                    ..Query::default()
                }
            } else {
                let cursor = (!cursors.is_empty() && rng.gen_bool(0.75))
                    .then(|| cursors[rng.gen_range(0..cursors.len())].clone());
                Query {
                    kind: "listing (no q)",
                    cursor,
                    ..Query::default()
                }
            }
        })
        .collect()
}

/// `count` tag-box lookups: 10 % no prefix (the most used tags), the rest the first one to
/// three letters of a tag, popular tags more often.
pub fn tag_plan(count: usize, tags: usize) -> Vec<Query> {
    let mut rng = StdRng::seed_from_u64(7);
    let tag_list = tag_names(tags);
    let tag_rank = Zipf::new(tag_list.len(), 1.0);
    (0..count)
        .map(|_| {
            let prefix = if rng.gen_bool(0.1) {
                String::new()
            } else {
                let tag = &tag_list[tag_rank.sample(&mut rng)];
                tag.chars().take(rng.gen_range(1..=3)).collect()
            };
            Query {
                kind: "tag prefix",
                tag_prefix: Some(prefix),
                ..Query::default()
            }
        })
        .collect()
}

pub fn planned(queries: &[Query]) -> Vec<Planned> {
    queries
        .iter()
        .map(|q| Planned {
            kind: q.kind,
            path: q.path(),
        })
        .collect()
}

/// Cursors of the newest-first listing, walked page by page as a scrolling visitor would.
pub async fn listing_cursors(
    http: &reqwest::Client,
    base: &str,
    pages: usize,
) -> anyhow::Result<Vec<String>> {
    let mut cursors = Vec::new();
    let mut path = "/api/media".to_owned();
    for _ in 0..pages {
        let page: Value = http
            .get(format!("{base}{path}"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let Some(next) = page["next_cursor"].as_str() else {
            break;
        };
        cursors.push(next.to_owned());
        path = format!("/api/media?cursor={}", encode(next));
    }
    Ok(cursors)
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of each media search, as the catalogue's store plans it (its
/// own statement, on a pool set up as the service's is); tag lookups are not explained.
pub async fn explain(url: &str, queries: &[&Query]) -> anyhow::Result<HashMap<String, String>> {
    let store = PgMediaStore::new(postgres::connect(url).await?);
    let mut plans = HashMap::new();
    for query in queries {
        if query.tag_prefix.is_some() {
            continue;
        }
        let asked = media_query(query)?;
        let lines = store
            .explain(&asked)
            .await
            .with_context(|| format!("explaining {}", query.path()))?;
        plans.insert(query.path(), lines.join("\n"));
    }
    Ok(plans)
}

/// The store's form of a bench search, parsed by the catalogue's own rules.
fn media_query(query: &Query) -> anyhow::Result<MediaQuery> {
    let text = match &query.q {
        Some(q) => SearchText::parse(q).map_err(anyhow::Error::msg)?,
        None => None,
    };
    Ok(MediaQuery {
        text,
        tags: parse_tag_filter(&query.tags.join(",")).map_err(anyhow::Error::msg)?,
        cursor: query.cursor.as_deref().and_then(Cursor::decode),
        limit: PAGE_SIZE,
        ..MediaQuery::default()
    })
}
