//! Rules for user-written text shown to other people (titles, descriptions, tags).

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Whether `c` may appear in one line of text another user will see.
///
/// Refused: control characters (they break one-line framings such as SSE `data:` and terminal
/// logs), line and paragraph separators (line breaks by another name), and format characters,
/// Unicode category Cf: bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder the
/// text around them, so a title can render as something it does not contain (and spill into the
/// name beside it); zero-width characters and tags hide text or make two titles look alike. The
/// price: emoji joined by U+200D (family, profession emoji) and subdivision flags are refused too.
pub fn displayable(c: char) -> bool {
    !c.is_control()
        && !matches!(
            c.general_category(),
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// Whether `c` may appear in multi-line text (a description): what [`displayable`] allows, plus
/// line feeds and tabs.
pub fn displayable_multiline(c: char) -> bool {
    c == '\n' || c == '\t' || displayable(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_control_characters_are_refused() {
        for c in [
            '\u{202e}', '\u{200b}', '\u{2066}', '\u{0}', '\u{1b}', '\n', '\u{2028}',
        ] {
            assert!(!displayable(c), "{c:?}");
        }
        for c in ['a', 'é', '日', '🎮', ' '] {
            assert!(displayable(c), "{c:?}");
        }
        assert!(displayable_multiline('\n') && displayable_multiline('\t'));
        assert!(!displayable_multiline('\r') && !displayable_multiline('\u{202e}'));
    }
}
