//! Tags: one shared list, written by anyone who tags an item, so each tag is normalised to one
//! spelling (trimmed, inner runs of white space made one space, lower case) and kept short.

use ferrocast_kit::text::displayable;

pub const TAG_MAX_CHARS: usize = 32;
pub const TAGS_PER_ITEM: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let folded = raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let count = folded.chars().count();
        if !(1..=TAG_MAX_CHARS).contains(&count) {
            return Err(format!("a tag must be 1-{TAG_MAX_CHARS} characters"));
        }
        if !folded.chars().all(displayable) || folded.contains(',') {
            return Err(
                "a tag must not contain commas, control or format (invisible, bidi) characters"
                    .into(),
            );
        }
        Ok(Self(folded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A tag read back from the store, which only ever holds parsed tags.
    pub fn from_db(raw: String) -> Self {
        Self(raw)
    }
}

/// An item's tags: each parsed, duplicates (after folding) merged, at most
/// [`TAGS_PER_ITEM`], in the order first given.
pub fn parse_list(raw: &[String]) -> Result<Vec<Tag>, String> {
    let mut tags: Vec<Tag> = Vec::new();
    for text in raw {
        let tag = Tag::parse(text).map_err(|e| format!("{e} (got {:?})", shorten(text)))?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > TAGS_PER_ITEM {
        return Err(format!("at most {TAGS_PER_ITEM} tags per item"));
    }
    Ok(tags)
}

/// A prefix typed into the tag box: folded like a tag, possibly empty; `None` when it could
/// never begin a tag.
pub fn parse_prefix(raw: &str) -> Option<String> {
    let folded = raw.trim_start().to_lowercase();
    let valid = folded.chars().count() <= TAG_MAX_CHARS
        && folded.chars().all(|c| displayable(c) && c != ',');
    valid.then_some(folded)
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_fold_to_one_spelling() {
        assert_eq!(
            Tag::parse("  Speed   Run ").expect("ok").as_str(),
            "speed run"
        );
        assert_eq!(Tag::parse("ÉTÉ").expect("ok").as_str(), "été");
    }

    #[test]
    fn tags_refuse_empty_long_and_hidden_characters() {
        for bad in ["", "   ", "a,b", "a\u{200b}", "a\u{202e}b", "a\u{1}"] {
            assert!(Tag::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Tag::parse(&"t".repeat(TAG_MAX_CHARS)).is_ok());
        assert!(Tag::parse(&"t".repeat(TAG_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn lists_merge_duplicates_and_stop_at_twenty() {
        let raw: Vec<String> = ["Rust", "rust ", "OBS"].map(String::from).to_vec();
        let tags = parse_list(&raw).expect("ok");
        assert_eq!(
            tags.iter().map(Tag::as_str).collect::<Vec<_>>(),
            ["rust", "obs"]
        );
        let many: Vec<String> = (0..=TAGS_PER_ITEM).map(|i| format!("t{i}")).collect();
        assert!(parse_list(&many).is_err());
        let repeated: Vec<String> = (0..50).map(|_| "same".to_owned()).collect();
        assert_eq!(parse_list(&repeated).expect("one tag").len(), 1);
    }

    #[test]
    fn prefixes_are_folded_and_may_be_empty() {
        assert_eq!(parse_prefix("Spe").as_deref(), Some("spe"));
        assert_eq!(parse_prefix("").as_deref(), Some(""));
        assert_eq!(parse_prefix("a,"), None);
        assert_eq!(parse_prefix(&"x".repeat(TAG_MAX_CHARS + 1)), None);
    }
}
