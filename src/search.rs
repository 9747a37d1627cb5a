//! Vietnamese-aware search folding: case, Unicode normal form and diacritics are ignored, and
//! `đ`/`Đ` become `d`, so `vai thieu`, `VẢI THIỀU` and a decomposed `Vải thiều` all match
//! "Vải thiều Lục Ngạn". A folded copy of the searchable text is stored beside each row; a query
//! matches when every folded word of it occurs in that copy.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::error::FieldError;

/// Lower case, no diacritics, `đ` → `d`; whitespace runs become one space.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_whitespace() {
            pending_space = !folded.is_empty();
            continue;
        }
        if pending_space {
            folded.push(' ');
            pending_space = false;
        }
        match c {
            'đ' | 'Đ' => folded.push('d'),
            other => folded.extend(other.to_lowercase()),
        }
    }
    folded
}

/// The text stored for searching a row: its name and description, folded.
pub fn search_text(name: &str, description: Option<&str>) -> String {
    match description {
        Some(description) => fold(&format!("{name} {description}")),
        None => fold(name),
    }
}

/// Longest search query, in characters.
pub const QUERY_MAX_CHARS: usize = 200;
/// Most words in a search query.
pub const QUERY_MAX_WORDS: usize = 10;

/// The folded words of the search parameter `field`; punctuation separates words. Empty when
/// nothing is searchable. A query over `QUERY_MAX_CHARS` characters or `QUERY_MAX_WORDS` words
/// is refused: each word is one more `LIKE` over every row.
pub fn query_words(field: &str, query: &str) -> Result<Vec<String>, FieldError> {
    if query.chars().nth(QUERY_MAX_CHARS).is_some() {
        return Err(FieldError::new(
            field,
            format!("must be at most {QUERY_MAX_CHARS} characters"),
        ));
    }
    let folded = fold(query);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() > QUERY_MAX_WORDS {
        return Err(FieldError::new(
            field,
            format!("must be at most {QUERY_MAX_WORDS} words"),
        ));
    }
    // Duplicates out in one pass; then a word inside another adds nothing but work (at most
    // QUERY_MAX_WORDS² comparisons).
    let mut seen = HashSet::with_capacity(words.len());
    let mut distinct: Vec<&str> = words.into_iter().filter(|w| seen.insert(*w)).collect();
    distinct.sort_unstable();
    let kept = distinct
        .iter()
        .filter(|w| {
            !distinct
                .iter()
                .any(|other| other != *w && other.contains(**w))
        })
        .map(|w| (*w).to_owned())
        .collect();
    Ok(kept)
}

/// `query_words` of an optional parameter `q`.
pub fn optional_query_words(query: Option<&str>) -> Result<Vec<String>, FieldError> {
    query.map_or(Ok(Vec::new()), |q| query_words("q", q))
}

/// A `LIKE` pattern that finds `word` anywhere, with the wildcards of `word` escaped by `\`.
pub fn like_pattern(word: &str) -> String {
    let mut pattern = String::with_capacity(word.len() + 2);
    pattern.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_diacritics_and_normal_form() {
        let nfc = "Vải thiều Lục Ngạn";
        let nfd: String = nfc.nfd().collect();
        assert_ne!(nfc, nfd);
        assert_eq!(fold(nfc), "vai thieu luc ngan");
        assert_eq!(fold(&nfd), "vai thieu luc ngan");
        assert_eq!(fold("VẢI THIỀU"), "vai thieu");
        assert_eq!(fold("Đường phèn"), "duong phen");
        assert_eq!(fold("hoà"), fold("hòa"));
        assert_eq!(fold("  Gạo   ST25 \n thơm "), "gao st25 thom");
    }

    #[test]
    fn query_words_are_folded_split_and_deduplicated() {
        let words = |q| query_words("q", q).unwrap();
        assert_eq!(words("Vải-thiều, VẢI"), vec!["thieu", "vai"]);
        assert_eq!(words("  ...  "), Vec::<String>::new());
        assert_eq!(words("cam camsanh"), vec!["camsanh"]);
    }

    #[test]
    fn long_queries_and_many_words_are_refused_naming_the_field() {
        let longest = "a".repeat(QUERY_MAX_CHARS);
        assert_eq!(query_words("q", &longest).unwrap(), vec![longest.clone()]);
        let error = query_words("q", &format!("{longest}ả")).unwrap_err();
        assert_eq!(error.field, "q");
        let ten = "a b c d e f g h i j";
        assert_eq!(query_words("q", ten).unwrap().len(), 10);
        assert_eq!(
            query_words("q", &format!("{ten} k")).unwrap_err().field,
            "q"
        );
        assert_eq!(optional_query_words(None).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("vai"), "%vai%");
        assert_eq!(like_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;

    use super::*;

    proptest! {
        #[test]
        fn folding_is_idempotent_and_blind_to_normal_form(text in "\\PC{0,40}") {
            let folded = fold(&text);
            prop_assert_eq!(fold(&folded), folded.clone());
            let nfd: String = text.nfd().collect();
            let nfc: String = text.nfc().collect();
            prop_assert_eq!(fold(&nfd), fold(&nfc));
            prop_assert!(!folded.chars().any(is_combining_mark));
            prop_assert!(!folded.chars().any(|c| c == 'đ' || c == 'Đ'));
        }

        #[test]
        fn a_folded_text_contains_each_of_its_query_words(text in "[a-zA-ZàáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĐ ]{0,40}") {
            let folded = fold(&text);
            let words = query_words("q", &text.to_uppercase());
            prop_assume!(words.is_ok(), "more than {} words", QUERY_MAX_WORDS);
            for word in words.unwrap() {
                prop_assert!(folded.contains(&word), "{} in {}", word, folded);
            }
        }
    }
}
