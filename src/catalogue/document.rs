//! What the index holds of a listed product: its searchable text in two forms, the values the
//! filters, facets and sorts read, its id, and the row a search answers with (as of the last
//! change the index followed: at most the follow interval behind the database).

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{TantivyDocument, Term};
use uuid::Uuid;

use super::analysis::{self, EXACT, FOLDED};

/// A product the public catalogue lists (active, of an active household), as the index needs it.
#[derive(Debug, Clone)]
pub struct Listing {
    pub id: Uuid,
    pub household_id: String,
    pub name: String,
    /// Every other text a buyer may search it by: description, household name, origin names,
    /// certifications.
    pub other_text: String,
    pub category: String,
    pub certifications: Vec<String>,
    /// The current province the origin lies in.
    pub origin_current: Option<String>,
    /// The 2008 province, when the origin was given on that map.
    pub origin_2008: Option<String>,
    pub price_vnd: i64,
    pub in_stock: bool,
    /// Microseconds since the epoch.
    pub created_at: i64,
    pub views: i64,
    /// What a search answers for it, encoded by its source (kept, not indexed).
    pub row: Vec<u8>,
}

#[derive(Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub id_high: Field,
    pub id_low: Field,
    pub household: Field,
    pub folded: Field,
    pub exact: Field,
    pub pairs: Field,
    pub name_key: Field,
    pub category: Field,
    pub certification: Field,
    pub origin_current: Field,
    pub origin_2008: Field,
    pub price: Field,
    pub in_stock: Field,
    pub created_at: Field,
    pub views: Field,
    pub row: Field,
}

pub const ID_HIGH: &str = "id_high";
pub const ID_LOW: &str = "id_low";
pub const PRICE: &str = "price";
pub const IN_STOCK: &str = "in_stock";
pub const CREATED_AT: &str = "created_at";
pub const VIEWS: &str = "views";
pub const CATEGORY: &str = "category";
pub const CERTIFICATION: &str = "certification";
pub const ORIGIN_CURRENT: &str = "origin_current";
pub const ORIGIN_2008: &str = "origin_2008";

pub fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = |analyzer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(record),
        )
    };
    let fields = Fields {
        id: builder.add_text_field("id", STRING),
        id_high: builder.add_u64_field(ID_HIGH, FAST),
        id_low: builder.add_u64_field(ID_LOW, FAST),
        household: builder.add_text_field("household", STRING),
        folded: builder.add_text_field("folded", text(FOLDED, IndexRecordOption::WithFreqs)),
        exact: builder.add_text_field("exact", text(EXACT, IndexRecordOption::WithFreqs)),
        // Two folded words side by side (`analysis::folded_pairs`), one term each.
        pairs: builder.add_text_field("pairs", text("whitespace", IndexRecordOption::WithFreqs)),
        // "<folded name>\u{1}<name>": suggestions read the term dictionary in name order.
        name_key: builder.add_text_field("name_key", STRING),
        category: builder.add_text_field(CATEGORY, STRING | FAST),
        certification: builder.add_text_field(CERTIFICATION, STRING | FAST),
        origin_current: builder.add_text_field(ORIGIN_CURRENT, STRING | FAST),
        origin_2008: builder.add_text_field(ORIGIN_2008, STRING | FAST),
        price: builder.add_i64_field(PRICE, INDEXED | FAST),
        in_stock: builder.add_bool_field(IN_STOCK, INDEXED | FAST),
        created_at: builder.add_i64_field(CREATED_AT, FAST),
        views: builder.add_i64_field(VIEWS, FAST),
        row: builder.add_bytes_field("row", STORED),
    };
    (builder.build(), fields)
}

impl Fields {
    /// The term of a product id, as the database writes it (hyphenated lower case).
    pub fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.id, id)
    }

    pub fn household_term(&self, household_id: &str) -> Term {
        Term::from_field_text(self.household, household_id)
    }

    pub fn document(&self, listing: &Listing) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        let (high, low) = listing.id.as_u64_pair();
        doc.add_text(self.id, listing.id.to_string());
        doc.add_u64(self.id_high, high);
        doc.add_u64(self.id_low, low);
        doc.add_text(self.household, &listing.household_id);
        for text in [&listing.name, &listing.other_text] {
            doc.add_text(self.folded, text);
            doc.add_text(self.exact, text);
            doc.add_text(self.pairs, analysis::folded_pairs(text));
        }
        doc.add_text(
            self.name_key,
            format!(
                "{}\u{1}{}",
                analysis::folded_key(&listing.name),
                listing.name
            ),
        );
        doc.add_text(self.category, &listing.category);
        for certification in &listing.certifications {
            doc.add_text(self.certification, certification);
        }
        if let Some(code) = &listing.origin_current {
            doc.add_text(self.origin_current, code);
        }
        if let Some(code) = &listing.origin_2008 {
            doc.add_text(self.origin_2008, code);
        }
        doc.add_i64(self.price, listing.price_vnd);
        doc.add_bool(self.in_stock, listing.in_stock);
        doc.add_i64(self.created_at, listing.created_at);
        doc.add_i64(self.views, listing.views);
        doc.add_bytes(self.row, &listing.row);
        doc
    }
}

/// tantivy's type code of a bytes value in a stored document.
const STORED_BYTES_CODE: u8 = 4;

/// The row in a listing's stored document, as the document store keeps it: the number of
/// fields (one: only the row is stored), the field, the value's type, its length and its
/// bytes. tantivy's own document reader copies a bytes value one byte at a time (a twentieth of
/// a crowd's CPU for the 20 rows of a page); this takes it as it lies. `None` if the document
/// is not laid out so (a change of tantivy's format): then it is read the usual way.
pub fn stored_row(mut stored: &[u8], row: Field) -> Option<&[u8]> {
    use tantivy_common::{BinarySerializable, VInt};
    let fields = VInt::deserialize_u64(&mut stored).ok()?;
    let field = u32::deserialize(&mut stored).ok()?;
    let (&code, rest) = stored.split_first()?;
    stored = rest;
    let length = VInt::deserialize_u64(&mut stored).ok()?;
    (fields == 1
        && field == row.field_id()
        && code == STORED_BYTES_CODE
        && length == stored.len() as u64)
        .then_some(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row is taken straight from the store, not through the slow way round.
    #[test]
    fn the_stored_row_is_read_as_it_lies() {
        let (schema, fields) = schema();
        let index = tantivy::Index::create_in_ram(schema);
        analysis::register(index.tokenizers());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let row: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let listing = Listing {
            id: Uuid::now_v7(),
            household_id: "h".into(),
            name: "Vải thiều".into(),
            other_text: "Lục Ngạn".into(),
            category: "fruit".into(),
            certifications: vec!["VietGAP".into()],
            origin_current: Some("24".into()),
            origin_2008: None,
            price_vnd: 30_000,
            in_stock: true,
            created_at: 0,
            views: 3,
            row: row.clone(),
        };
        writer.add_document(fields.document(&listing)).unwrap();
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let store = searcher.segment_reader(0).get_store_reader(0).unwrap();
        let stored = store.get_document_bytes(0).unwrap();
        assert_eq!(stored_row(&stored, fields.row), Some(&row[..]));
        assert_eq!(stored_row(&stored, fields.name_key), None);
        assert_eq!(stored_row(&stored[..stored.len() - 1], fields.row), None);
    }
}
