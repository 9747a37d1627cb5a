//! Vietnamese-aware search folding: case, Unicode normal form and diacritics are ignored, and
//! `đ`/`Đ` become `d`, so `vai thieu`, `VẢI THIỀU` and a decomposed `Vải thiều` all match
//! "Vải thiều Lục Ngạn". A folded copy of the searchable text is stored beside each row; a query
//! matches when every folded word of it occurs in that copy.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

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

/// The folded words of a query; punctuation separates words. Empty when nothing is searchable.
pub fn query_words(query: &str) -> Vec<String> {
    let mut words: Vec<String> = fold(query)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    words.sort();
    words.dedup();
    // A word inside another adds nothing but work.
    let all = words.clone();
    words.retain(|w| {
        !all.iter()
            .any(|other| other != w && other.contains(w.as_str()))
    });
    words
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
        assert_eq!(query_words("Vải-thiều, VẢI"), vec!["thieu", "vai"]);
        assert_eq!(query_words("  ...  "), Vec::<String>::new());
        assert_eq!(query_words("cam camsanh"), vec!["camsanh"]);
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
            for word in query_words(&text.to_uppercase()) {
                prop_assert!(folded.contains(&word), "{} in {}", word, folded);
            }
        }
    }
}
