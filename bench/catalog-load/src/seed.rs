//! A catalogue to search: items and tags written straight into the catalogue's PostgreSQL
//! database in bulk (through the API it would take hours), shaped like a streaming site's:
//! titles and descriptions drawn from a vocabulary by a Zipf law (a few words are everywhere,
//! most are rare), tags likewise (a few carry tens of thousands of items), owners, kinds and a
//! year of creation times, written oldest first as uploads arrive (so the table's order follows
//! creation time, as a live catalogue's does). Every item is uploaded and public, so every
//! item is searchable.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::{rngs::StdRng, Rng, RngCore, SeedableRng};
use sqlx::{postgres::PgPoolOptions, PgPool};
use uuid::Uuid;

/// Words of titles and descriptions, most common first (the Zipf law ranks them so).
pub const WORDS: &[&str] = &[
    "the",
    "and",
    "stream",
    "live",
    "game",
    "with",
    "music",
    "new",
    "best",
    "first",
    "video",
    "part",
    "play",
    "chill",
    "talk",
    "night",
    "full",
    "episode",
    "review",
    "guide",
    "how",
    "build",
    "speedrun",
    "tutorial",
    "highlights",
    "morning",
    "coffee",
    "setup",
    "update",
    "road",
    "trip",
    "city",
    "walk",
    "summer",
    "winter",
    "piano",
    "guitar",
    "drums",
    "jazz",
    "lofi",
    "beats",
    "remix",
    "cover",
    "concert",
    "festival",
    "football",
    "basketball",
    "tennis",
    "running",
    "cycling",
    "climbing",
    "hiking",
    "camping",
    "fishing",
    "cooking",
    "recipe",
    "pasta",
    "pizza",
    "bread",
    "vegan",
    "breakfast",
    "dinner",
    "kitchen",
    "garden",
    "plants",
    "flowers",
    "travel",
    "japan",
    "tokyo",
    "paris",
    "berlin",
    "london",
    "mountains",
    "ocean",
    "beach",
    "sunset",
    "drone",
    "footage",
    "timelapse",
    "aerial",
    "camera",
    "lens",
    "photography",
    "editing",
    "color",
    "grading",
    "animation",
    "drawing",
    "painting",
    "sketch",
    "digital",
    "pixel",
    "design",
    "logo",
    "typography",
    "coding",
    "rust",
    "python",
    "javascript",
    "linux",
    "server",
    "database",
    "kubernetes",
    "docker",
    "cloud",
    "security",
    "hacking",
    "keyboard",
    "mechanical",
    "soldering",
    "electronics",
    "arduino",
    "raspberry",
    "robot",
    "printer",
    "printing",
    "woodworking",
    "workshop",
    "restoration",
    "vintage",
    "retro",
    "console",
    "arcade",
    "strategy",
    "shooter",
    "racing",
    "simulator",
    "survival",
    "horror",
    "puzzle",
    "platformer",
    "indie",
    "multiplayer",
    "tournament",
    "finals",
    "qualifier",
    "ranked",
    "season",
    "patch",
    "meta",
    "tier",
    "list",
    "reaction",
    "unboxing",
    "comparison",
    "benchmark",
    "performance",
    "battery",
    "phone",
    "laptop",
    "desktop",
    "graphics",
    "card",
    "overclocking",
    "cooling",
    "water",
    "loop",
    "minimal",
    "ambient",
    "synthwave",
    "orchestra",
    "violin",
    "cello",
    "choir",
    "acoustic",
    "session",
    "studio",
    "recording",
    "mixing",
    "mastering",
    "podcast",
    "interview",
    "debate",
    "news",
    "science",
    "space",
    "rocket",
    "launch",
    "telescope",
    "astronomy",
    "physics",
    "chemistry",
    "biology",
    "history",
    "documentary",
    "ancient",
    "medieval",
    "castle",
    "museum",
    "art",
    "exhibition",
    "fashion",
    "makeup",
    "haircut",
    "fitness",
    "workout",
    "yoga",
    "meditation",
    "stretching",
    "marathon",
    "training",
    "diet",
    "nutrition",
    "motivation",
    "productivity",
    "study",
    "exam",
    "university",
    "lecture",
    "language",
    "spanish",
    "french",
    "german",
    "japanese",
    "learning",
    "beginner",
    "advanced",
    "expert",
    "challenge",
    "attempt",
    "record",
    "world",
    "fastest",
    "hardest",
    "impossible",
    "funny",
    "moments",
    "fails",
    "compilation",
    "clips",
    "stream",
    "vlog",
    "daily",
    "weekly",
    "recap",
    "announcement",
    "trailer",
    "teaser",
    "premiere",
    "behind",
    "scenes",
    "making",
    "story",
    "adventure",
    "exploring",
    "abandoned",
    "underground",
    "forest",
    "river",
    "lake",
    "snow",
    "storm",
    "rain",
    "thunder",
    "relaxing",
    "sleep",
    "sounds",
    "nature",
    "birds",
    "wildlife",
    "cats",
    "dogs",
    "puppy",
    "kitten",
    "horse",
    "farm",
    "tractor",
    "train",
    "railway",
    "aviation",
    "airport",
    "cockpit",
    "landing",
    "takeoff",
    "sailing",
    "boat",
    "submarine",
    "diving",
    "underwater",
    "coral",
    "reef",
    "volcano",
    "earthquake",
    "weather",
    "forecast",
    "economy",
    "market",
    "stocks",
    "crypto",
    "startup",
    "business",
    "marketing",
    "interview",
    "career",
];

/// How many owners the items belong to.
const OWNERS: usize = 2_000;
/// Rows per INSERT.
const BATCH: usize = 5_000;

/// Draws ranks 0..n with probability ∝ 1 / (rank + 1)^s.
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|rank| {
                total += 1.0 / ((rank + 1) as f64).powf(s);
                total
            })
            .collect();
        Self { cumulative }
    }

    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.gen::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c < x)
            .min(self.cumulative.len() - 1)
    }
}

/// The tag list, most used first: the vocabulary's words, then two-word tags.
pub fn tag_names(count: usize) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(count);
    let mut seen = std::collections::HashSet::new();
    let mut push = |name: String, names: &mut Vec<String>| {
        if names.len() < count && name.chars().count() <= 32 && seen.insert(name.clone()) {
            names.push(name);
        }
    };
    for word in WORDS.iter().skip(2) {
        push((*word).to_owned(), &mut names);
    }
    'pairs: for a in WORDS.iter().skip(2) {
        for b in WORDS.iter().skip(2) {
            if names.len() >= count {
                break 'pairs;
            }
            if a != b {
                push(format!("{a}-{b}"), &mut names);
            }
        }
    }
    names
}

pub struct Seeded {
    pub items: usize,
    pub tags: usize,
    pub links: usize,
    pub took: Duration,
}

/// Writes `items` items and `tags` tags into the catalogue's database at `url`, then VACUUM
/// ANALYZE (a live database's statistics are current; fresh rows have none).
pub async fn seed(url: &str, items: usize, tags: usize) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
    let names = tag_names(tags);
    let ids: std::collections::HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "INSERT INTO tags (name) SELECT unnest($1::text[]) RETURNING name, id",
    )
    .bind(&names)
    .fetch_all(&pool)
    .await?
    .into_iter()
    .collect();
    // Most used first, as the names are.
    let tag_ids: Vec<i64> = names
        .iter()
        .filter_map(|name| ids.get(name).copied())
        .collect();
    let mut rng = StdRng::seed_from_u64(42);
    let words = Zipf::new(WORDS.len(), 1.0);
    let tag_rank = Zipf::new(tag_ids.len(), 1.0);
    let owners: Vec<(String, String)> = (0..OWNERS)
        .map(|i| (Uuid::new_v4().to_string(), format!("creator{i:04}")))
        .collect();
    let owner_rank = Zipf::new(OWNERS, 0.8);
    let now = Utc::now();
    let mut links = 0;
    let mut written = 0;
    while written < items {
        let n = BATCH.min(items - written);
        let mut batch = Batch::default();
        for _ in 0..n {
            let id = Uuid::new_v4();
            let (owner_id, owner_name) = &owners[owner_rank.sample(&mut rng)];
            let title_words = rng.gen_range(2..=8);
            let description_words = rng.gen_range(0..=60);
            batch.ids.push(id);
            batch.owner_ids.push(owner_id.clone());
            batch.owner_names.push(owner_name.clone());
            let image = rng.gen_bool(0.2);
            batch
                .kinds
                .push(if image { "image" } else { "video" }.into());
            batch
                .content_types
                .push(if image { "image/jpeg" } else { "video/mp4" }.into());
            batch.titles.push(title(&mut rng, &words, title_words));
            batch
                .descriptions
                .push(sentence(&mut rng, &words, description_words));
            batch.sizes.push(rng.gen_range(100_000..2_000_000_000));
            let mut digest = vec![0u8; 32];
            rng.fill_bytes(&mut digest);
            batch.digests.push(digest);
            // Evenly over the past year, oldest first, a little jitter within a slot.
            let slot = 365 * 24 * 3600 / i64::try_from(items)?.max(1);
            let left = i64::try_from(items - written - batch.ids.len() + 1)?;
            let age = slot * left - rng.gen_range(0..slot.max(1));
            batch.created.push(now - chrono::Duration::seconds(age));
            let mut chosen: Vec<i64> = Vec::new();
            for _ in 0..rng.gen_range(0..=6) {
                let tag = tag_ids[tag_rank.sample(&mut rng)];
                if !chosen.contains(&tag) {
                    chosen.push(tag);
                }
            }
            links += chosen.len();
            batch.tag_ids.push(format!(
                "{{{}}}",
                chosen
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
        batch.write(&pool).await?;
        written += n;
    }
    for table in ["media", "tags", "search_words"] {
        sqlx::query(&format!("VACUUM ANALYZE {table}"))
            .execute(&pool)
            .await?;
    }
    pool.close().await;
    Ok(Seeded {
        items,
        tags: tag_ids.len(),
        links,
        took: started.elapsed(),
    })
}

fn title(rng: &mut StdRng, words: &Zipf, count: usize) -> String {
    let mut text = sentence(rng, words, count);
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    if rng.gen_bool(0.2) {
        text.push_str(&format!(" #{}", rng.gen_range(1..200)));
    }
    text
}

fn sentence(rng: &mut StdRng, words: &Zipf, count: usize) -> String {
    (0..count)
        .map(|_| WORDS[words.sample(rng)])
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Default)]
struct Batch {
    ids: Vec<Uuid>,
    owner_ids: Vec<String>,
    owner_names: Vec<String>,
    kinds: Vec<String>,
    content_types: Vec<String>,
    titles: Vec<String>,
    descriptions: Vec<String>,
    sizes: Vec<i64>,
    digests: Vec<Vec<u8>>,
    created: Vec<DateTime<Utc>>,
    /// Each item's tag ids as an array literal (`{3,17}`): arrays of arrays do not bind.
    tag_ids: Vec<String>,
}

impl Batch {
    async fn write(self, pool: &PgPool) -> anyhow::Result<()> {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO media (id, owner_id, owner_name, kind, title, description, visibility, \
             status, content_type, size_bytes, sha256, created_at, updated_at, uploaded_at, \
             tag_ids) \
             SELECT id, owner_id, owner_name, kind, title, description, 'public', 'uploaded', \
             content_type, size_bytes, sha256, created_at, created_at, created_at, \
             tag_ids::int8[] \
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::int8[], $9::bytea[], $10::timestamptz[], $11::text[]) \
             WITH ORDINALITY AS u(id, owner_id, owner_name, kind, title, description, \
             content_type, size_bytes, sha256, created_at, tag_ids, n) ORDER BY n",
        )
        .bind(&self.ids)
        .bind(&self.owner_ids)
        .bind(&self.owner_names)
        .bind(&self.kinds)
        .bind(&self.titles)
        .bind(&self.descriptions)
        .bind(&self.content_types)
        .bind(&self.sizes)
        .bind(&self.digests)
        .bind(&self.created)
        .bind(&self.tag_ids)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
