//! How the index cuts and normalises Vietnamese text: words are runs of letters and digits (a
//! combining mark stays inside its word, so a decomposed `tiếng` is one word), then either
//! folded (lower case, no diacritics, `đ` → `d`: `vai thieu` finds `Vải thiều`) or kept exact
//! (lower case, composed form, diacritics kept: `bơ` tells avocado from `bò`, beef).

use std::mem;
use std::str::CharIndices;

use tantivy::tokenizer::{
    RemoveLongFilter, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer, TokenizerManager,
};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::search::fold;

/// The analyzer of the folded field.
pub const FOLDED: &str = "vi_folded";
/// The analyzer of the exact field.
pub const EXACT: &str = "vi_exact";
/// Longer words are not indexed (nobody searches them; they only grow the dictionary).
const WORD_MAX_BYTES: usize = 60;

/// Registers both analyzers; tantivy keeps no analyzer in the index, so every opening does it.
pub fn register(tokenizers: &TokenizerManager) {
    tokenizers.register(FOLDED, analyzer(Form::Folded));
    tokenizers.register(EXACT, analyzer(Form::Exact));
}

fn analyzer(form: Form) -> TextAnalyzer {
    TextAnalyzer::builder(Words::default())
        .filter(RemoveLongFilter::limit(WORD_MAX_BYTES))
        .filter(Normalize(form))
        .build()
}

/// One word of a query in both forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryWord {
    pub folded: String,
    pub exact: String,
}

/// The words of a query in both forms: the same cutting as the indexed text (both analyzers
/// cut alike, so the words pair up).
pub fn query_words(text: &str) -> Vec<QueryWord> {
    let folded = words_of(Form::Folded, text);
    let exact = words_of(Form::Exact, text);
    folded
        .into_iter()
        .zip(exact)
        .map(|(folded, exact)| QueryWord { folded, exact })
        .collect()
}

fn words_of(form: Form, text: &str) -> Vec<String> {
    let mut analyzer = analyzer(form);
    let mut stream = analyzer.token_stream(text);
    let mut words = Vec::new();
    while stream.advance() {
        words.push(stream.token().text.clone());
    }
    words
}

/// Each two words side by side, folded and joined by `_` (`vai_thieu thieu_luc …`): matching a
/// pair of query words against these ranks words typed together above the same words apart,
/// without reading positions.
pub fn folded_pairs(text: &str) -> String {
    let words = words_of(Form::Folded, text);
    words
        .windows(2)
        .map(|pair| pair_term(&pair[0], &pair[1]))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The term of two folded words side by side.
pub fn pair_term(first: &str, second: &str) -> String {
    format!("{first}_{second}")
}

/// A name as suggestions compare it: folded words joined by one space.
pub fn folded_key(text: &str) -> String {
    words_of(Form::Folded, text).join(" ")
}

#[derive(Clone, Default)]
struct Words {
    token: Token,
}

struct WordStream<'a> {
    text: &'a str,
    chars: CharIndices<'a>,
    token: &'a mut Token,
}

impl Tokenizer for Words {
    type TokenStream<'a> = WordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        self.token.reset();
        WordStream {
            text,
            chars: text.char_indices(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        while let Some((from, c)) = self.chars.next() {
            if c.is_alphanumeric() {
                let to = self
                    .chars
                    .by_ref()
                    .find(|(_, c)| !(c.is_alphanumeric() || is_combining_mark(*c)))
                    .map_or(self.text.len(), |(at, _)| at);
                self.token.offset_from = from;
                self.token.offset_to = to;
                self.token.text.push_str(&self.text[from..to]);
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Folded,
    Exact,
}

#[derive(Clone, Copy)]
struct Normalize(Form);

impl TokenFilter for Normalize {
    type Tokenizer<T: Tokenizer> = NormalizeWords<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> NormalizeWords<T> {
        NormalizeWords {
            inner: tokenizer,
            form: self.0,
        }
    }
}

#[derive(Clone)]
struct NormalizeWords<T> {
    inner: T,
    form: Form,
}

impl<T: Tokenizer> Tokenizer for NormalizeWords<T> {
    type TokenStream<'a> = NormalizedStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        NormalizedStream {
            inner: self.inner.token_stream(text),
            form: self.form,
        }
    }
}

struct NormalizedStream<S> {
    inner: S,
    form: Form,
}

impl<S: TokenStream> TokenStream for NormalizedStream<S> {
    fn advance(&mut self) -> bool {
        if !self.inner.advance() {
            return false;
        }
        let token = self.inner.token_mut();
        let normalized = match self.form {
            Form::Folded => fold(&token.text),
            Form::Exact => token.text.nfc().flat_map(char::to_lowercase).collect(),
        };
        let _ = mem::replace(&mut token.text, normalized);
        true
    }

    fn token(&self) -> &Token {
        self.inner.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.inner.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_or_kept_exact_in_any_unicode_form() {
        let decomposed = "Vải thiều ĐẮK Lắk, tie\u{302}\u{301}ng-Việt 100%";
        let words = query_words(decomposed);
        let folded: Vec<&str> = words.iter().map(|w| w.folded.as_str()).collect();
        let exact: Vec<&str> = words.iter().map(|w| w.exact.as_str()).collect();
        assert_eq!(
            folded,
            ["vai", "thieu", "dak", "lak", "tieng", "viet", "100"]
        );
        assert_eq!(
            exact,
            ["vải", "thiều", "đắk", "lắk", "tiếng", "việt", "100"]
        );
        assert_eq!(folded_key("  Vải   thiều! "), "vai thieu");
    }
}
