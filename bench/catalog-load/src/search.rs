//! Search latency: a mix of what people type into the library's search box (whole words,
//! prefixes while typing, typos, tag filters, the newest-first listing paged by cursor) and
//! what the tag box asks for, sent open loop at a fixed rate; and, for any kind of query that
//! misses the target, the plan PostgreSQL runs for its slowest request (`EXPLAIN ANALYZE`).

use std::collections::HashMap;

use anyhow::Context;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::Value;
use sqlx::{Connection, PgConnection};

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

// The statements below are the catalogue store's (services/catalog/src/adapters/postgres.rs),
// with the request's values written in: EXPLAIN shows the plan of the real query shape.
const COLUMNS: &str = "m.id, m.owner_id, m.owner_name, m.kind, m.title, m.description, \
    m.visibility, m.status, m.content_type, m.size_bytes, m.sha256, m.upload_id, m.part_size, \
    m.created_at, m.updated_at, m.uploaded_at, \
    COALESCE((SELECT array_agg(t.name ORDER BY mt.position) FROM media_tags mt \
      JOIN tags t ON t.id = mt.tag_id WHERE mt.media_id = m.id), '{}') AS tags";
const PUBLIC: &str = "(m.visibility = 'public' AND m.status <> 'awaiting_upload')";
const PAGE: u32 = 24;

/// A SQL literal; the bench's words and tags are letters, digits, spaces and hyphens, and the
/// quote is doubled anyway.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The statement the store runs for `query` (a cursor's page is explained as the first page).
fn statement(query: &Query) -> String {
    if let Some(prefix) = &query.tag_prefix {
        return format!(
            "SELECT t.name, count(*) AS n FROM tags t \
             JOIN media_tags mt ON mt.tag_id = t.id \
             JOIN media m ON m.id = mt.media_id AND {PUBLIC} \
             WHERE t.name LIKE {} GROUP BY t.name ORDER BY n DESC, t.name LIMIT 20",
            literal(&format!("{prefix}%"))
        );
    }
    let words: Option<(String, String)> = query.q.as_ref().map(|q| {
        let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
        let tsquery = words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & ");
        (words.join(" "), tsquery)
    });
    let mut sql = format!("SELECT {COLUMNS} FROM media m");
    if let Some((_, tsquery)) = &words {
        sql += &format!(", to_tsquery('simple', {}) AS q", literal(tsquery));
    }
    sql += &format!(" WHERE {PUBLIC}");
    if let Some((words, _)) = &words {
        sql += &format!(
            " AND (m.search @@ q OR {} <% lower(m.title))",
            literal(words)
        );
    }
    if !query.tags.is_empty() {
        let names: Vec<String> = query.tags.iter().map(String::as_str).map(literal).collect();
        sql += &format!(
            " AND m.id IN (SELECT mt.media_id FROM media_tags mt JOIN tags t ON t.id = mt.tag_id \
             WHERE t.name = ANY(ARRAY[{}]) GROUP BY mt.media_id HAVING count(*) = {})",
            names.join(", "),
            query.tags.len()
        );
    }
    match &words {
        Some((words, _)) => {
            sql += &format!(
                " ORDER BY ts_rank(m.search, q) + word_similarity({}, lower(m.title)) DESC, \
                 m.created_at DESC, m.id DESC OFFSET 0 LIMIT {}",
                literal(words),
                PAGE + 1
            );
        }
        None => {
            sql += &format!(" ORDER BY m.created_at DESC, m.id DESC LIMIT {}", PAGE + 1);
        }
    }
    sql
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of each query, on a connection set up as the store's are.
pub async fn explain(url: &str, queries: &[&Query]) -> anyhow::Result<HashMap<String, String>> {
    let mut connection = PgConnection::connect(url).await?;
    sqlx::query("SET pg_trgm.word_similarity_threshold = 0.5")
        .execute(&mut connection)
        .await?;
    let mut plans = HashMap::new();
    for query in queries {
        let lines: Vec<String> =
            sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, BUFFERS) {}", statement(query)))
                .fetch_all(&mut connection)
                .await
                .with_context(|| format!("explaining {}", query.path()))?;
        plans.insert(query.path(), lines.join("\n"));
    }
    connection.close().await.ok();
    Ok(plans)
}
