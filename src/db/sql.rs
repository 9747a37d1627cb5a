//! Hand-written SQL that runs as a *cached* prepared statement on both databases.
//!
//! diesel's `sql_query` never caches (it cannot know the text is fixed), so PostgreSQL parsed and
//! planned every report and rollup statement again on each request. [`Sql`] keeps the text and
//! its values apart: the text, written once with PostgreSQL's `$n` placeholders, is the cache key;
//! each `$n` becomes a bound parameter (`$k` on PostgreSQL, `?` on SQLite; a repeated `$n` binds
//! its value again). Statements whose text varies with the data (multi-row inserts) opt out with
//! [`Sql::cached_if`] so that the cache stays bounded.
//!
//! Values are bound through the backend's own connection: diesel's multi-backend bind collector
//! grows quadratically with the number of parameters, which multi-row statements have many of.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{
    Array, BigInt, Date, HasSqlType, Integer, Nullable, Text, Timestamp, Untyped,
};
use diesel::sqlite::Sqlite;

use super::DbConnection;

/// One bound value.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Text(Cow<'a, str>),
    BigInt(i64),
    Integer(i32),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
    NullableText(Option<Cow<'a, str>>),
    NullableTimestamp(Option<NaiveDateTime>),
}

/// `From` for each Rust type a statement binds: the variant it becomes, and how.
macro_rules! value_from {
    ($($ty:ty => $make:expr),+ $(,)?) => {$(
        impl<'a> From<$ty> for Value<'a> {
            fn from(value: $ty) -> Self {
                $make(value)
            }
        }
    )+};
}

value_from! {
    &'a str => |text| Value::Text(Cow::Borrowed(text)),
    String => |text| Value::Text(Cow::Owned(text)),
    Option<&'a str> => |text: Option<&'a str>| Value::NullableText(text.map(Cow::Borrowed)),
    Option<String> => |text: Option<String>| Value::NullableText(text.map(Cow::Owned)),
    i64 => Value::BigInt,
    i32 => Value::Integer,
    NaiveDate => Value::Date,
    NaiveDateTime => Value::Timestamp,
    Option<NaiveDateTime> => Value::NullableTimestamp,
}

/// Multi-row statements of up to this many rows are cached (a few texts per table); larger
/// ones are bulk work (imports, demo data), where parsing is not the cost.
pub const CACHED_ROWS: usize = 4;

/// `($1, $2), ($3, $4)` for `rows` rows of `per_row` values, numbered from `$first`.
fn value_rows(first: usize, rows: usize, per_row: usize) -> String {
    let mut text = String::with_capacity(rows * per_row * 5);
    for r in 0..rows {
        text.push_str(if r == 0 { "(" } else { ", (" });
        for c in 1..=per_row {
            if c > 1 {
                text.push_str(", ");
            }
            text.push_str(&format!("${}", first - 1 + r * per_row + c));
        }
        text.push(')');
    }
    text
}

/// A piece of the statement's text: literal SQL, or the 0-based index of a value.
#[derive(Debug, Clone)]
enum Piece {
    Literal(std::ops::Range<usize>),
    Value(usize),
}

/// A statement and its values; see the module comment.
#[derive(Debug, Clone)]
pub struct Sql<'a> {
    text: Cow<'a, str>,
    pieces: Vec<Piece>,
    values: Vec<Value<'a>>,
    cached: bool,
}

impl<'a> Sql<'a> {
    /// `text` with `$1`, `$2`, … placeholders (no `$` may appear otherwise).
    pub fn new(text: impl Into<Cow<'a, str>>) -> Self {
        let text = text.into();
        let pieces = split(&text);
        Sql {
            text,
            pieces,
            values: Vec::new(),
            cached: true,
        }
    }

    /// `text` and the values of its placeholders, in order.
    pub fn with_values(text: impl Into<Cow<'a, str>>, values: Vec<Value<'a>>) -> Self {
        Sql {
            values,
            ..Sql::new(text)
        }
    }

    /// Binds the value of the next placeholder number.
    pub fn bind(mut self, value: impl Into<Value<'a>>) -> Self {
        self.values.push(value.into());
        self
    }

    pub fn push(&mut self, value: impl Into<Value<'a>>) {
        self.values.push(value.into());
    }

    /// Kept in the statement cache only if `cached` (text that varies with the data, such as
    /// a multi-row insert of many rows, would fill it).
    pub fn cached_if(mut self, cached: bool) -> Self {
        self.cached = cached;
        self
    }

    pub fn execute(self, conn: &mut DbConnection) -> QueryResult<usize> {
        match conn {
            DbConnection::Postgres(pg) => RunQueryDsl::execute(self, pg),
            DbConnection::Sqlite(lite) => RunQueryDsl::execute(self, lite),
        }
    }

    pub fn load<T>(self, conn: &mut DbConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
    {
        match conn {
            DbConnection::Postgres(pg) => RunQueryDsl::load(self, pg),
            DbConnection::Sqlite(lite) => RunQueryDsl::load(self, lite),
        }
    }
}

/// Splits `text` at `$n` placeholders; `$` in `--` comments and quoted strings is left alone.
fn split(text: &str) -> Vec<Piece> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'\'' => {
                i = text[i + 1..]
                    .find('\'')
                    .map_or(bytes.len(), |n| i + 1 + n + 1);
            }
            b'$' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let digits_end = (i + 1..bytes.len())
                    .find(|&j| !bytes[j].is_ascii_digit())
                    .unwrap_or(bytes.len());
                let number: usize = text[i + 1..digits_end].parse().unwrap_or(0);
                assert!(number >= 1, "SQL placeholders are numbered from $1");
                pieces.push(Piece::Literal(start..i));
                pieces.push(Piece::Value(number - 1));
                start = digits_end;
                i = digits_end;
            }
            _ => i += 1,
        }
    }
    pieces.push(Piece::Literal(start..bytes.len()));
    pieces
}

impl<'a, DB> QueryFragment<DB> for Sql<'a>
where
    DB: Backend
        + HasSqlType<Text>
        + HasSqlType<BigInt>
        + HasSqlType<Integer>
        + HasSqlType<Date>
        + HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    Option<Cow<'a, str>>: ToSql<Nullable<Text>, DB>,
    Option<NaiveDateTime>: ToSql<Nullable<Timestamp>, DB>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    NaiveDate: ToSql<Date, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if !self.cached {
            out.unsafe_to_cache_prepared();
        }
        walk_pieces(&self.text, &self.pieces, &mut out, |out, index| {
            Some(match self.values.get(index)? {
                Value::Text(text) => out.push_bind_param::<Text, str>(text),
                Value::BigInt(n) => out.push_bind_param::<BigInt, i64>(n),
                Value::Integer(n) => out.push_bind_param::<Integer, i32>(n),
                Value::Date(day) => out.push_bind_param::<Date, NaiveDate>(day),
                Value::Timestamp(at) => out.push_bind_param::<Timestamp, NaiveDateTime>(at),
                Value::NullableText(text) => {
                    out.push_bind_param::<Nullable<Text>, Option<Cow<'a, str>>>(text)
                }
                Value::NullableTimestamp(at) => {
                    out.push_bind_param::<Nullable<Timestamp>, Option<NaiveDateTime>>(at)
                }
            })
        })
    }
}

/// Writes `text` with each `$n` placeholder replaced by what `bind` pushes for value `n - 1`
/// (`None`: no such value).
fn walk_pieces<'b, DB: Backend>(
    text: &'b str,
    pieces: &'b [Piece],
    out: &mut AstPass<'_, 'b, DB>,
    mut bind: impl FnMut(&mut AstPass<'_, 'b, DB>, usize) -> Option<QueryResult<()>>,
) -> QueryResult<()> {
    for piece in pieces {
        match piece {
            Piece::Literal(range) => out.push_sql(&text[range.clone()]),
            Piece::Value(index) => bind(out, *index).unwrap_or_else(|| {
                Err(diesel::result::Error::QueryBuilderError(
                    format!("no value bound for ${}", index + 1).into(),
                ))
            })?,
        }
    }
    Ok(())
}

/// What makes a statement type runnable by diesel: rows of any shape (`QueryableByName`), no
/// statement cache key (the text varies).
macro_rules! untyped_query {
    ($statement:ident) => {
        impl QueryId for $statement<'_> {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }

        impl Query for $statement<'_> {
            type SqlType = Untyped;
        }

        impl<Conn> RunQueryDsl<Conn> for $statement<'_> {}
    };
}

untyped_query!(Sql);

/// Rows per column-array statement: bounds a statement's memory (a few MB), not the count of them.
pub const ARRAY_ROWS_PER_STATEMENT: usize = 20_000;

/// One column of many rows, bound as one PostgreSQL array.
#[derive(Debug, Clone)]
pub enum ArrayColumn<'a> {
    Text(Vec<&'a str>),
    Date(Vec<NaiveDate>),
    Integer(Vec<i32>),
    BigInt(Vec<i64>),
}

impl ArrayColumn<'_> {
    fn array_type(&self) -> &'static str {
        match self {
            ArrayColumn::Text(_) => "text[]",
            ArrayColumn::Date(_) => "date[]",
            ArrayColumn::Integer(_) => "int4[]",
            ArrayColumn::BigInt(_) => "int8[]",
        }
    }
}

impl<'a> ArrayColumn<'a> {
    fn len(&self) -> usize {
        match self {
            ArrayColumn::Text(c) => c.len(),
            ArrayColumn::Date(c) => c.len(),
            ArrayColumn::Integer(c) => c.len(),
            ArrayColumn::BigInt(c) => c.len(),
        }
    }

    fn rows(&self, range: std::ops::Range<usize>) -> ArrayColumn<'a> {
        match self {
            ArrayColumn::Text(c) => ArrayColumn::Text(c[range].to_vec()),
            ArrayColumn::Date(c) => ArrayColumn::Date(c[range].to_vec()),
            ArrayColumn::Integer(c) => ArrayColumn::Integer(c[range].to_vec()),
            ArrayColumn::BigInt(c) => ArrayColumn::BigInt(c[range].to_vec()),
        }
    }

    fn value(&self, row: usize) -> Value<'a> {
        match self {
            ArrayColumn::Text(c) => c[row].into(),
            ArrayColumn::Date(c) => c[row].into(),
            ArrayColumn::Integer(c) => c[row].into(),
            ArrayColumn::BigInt(c) => c[row].into(),
        }
    }
}

/// `VALUES ($n, $n+1), …`: the rows of `columns` as placeholders numbered after the values
/// already in `values`, onto which it pushes theirs.
pub fn values_of<'a>(columns: &[ArrayColumn<'a>], values: &mut Vec<Value<'a>>) -> String {
    let rows = columns.first().map_or(0, ArrayColumn::len);
    let text = format!(
        "VALUES {}",
        value_rows(values.len() + 1, rows, columns.len())
    );
    for row in 0..rows {
        values.extend(columns.iter().map(|column| column.value(row)));
    }
    text
}

/// Runs `statement` over many rows given as columns of equal length, in the form each database
/// takes best: on PostgreSQL, more than [`CACHED_ROWS`] rows as column arrays (`SELECT * FROM
/// unnest($1::text[], …)`, [`ARRAY_ROWS_PER_STATEMENT`] at a time, one prepared text); otherwise
/// multi-row `VALUES`, `values_per_statement` rows at a time (SQLite binds every cell). `statement`
/// is given that table expression and places it: `INSERT INTO t (…) {rows} ON CONFLICT …`, or
/// `WITH v (a, b) AS ({rows}) UPDATE …`.
pub fn execute_rows(
    conn: &mut DbConnection,
    columns: &[ArrayColumn],
    values_per_statement: usize,
    statement: impl Fn(&str) -> String,
) -> QueryResult<usize> {
    let rows = columns.first().map_or(0, ArrayColumn::len);
    let chunk = |size: usize| {
        (0..rows)
            .step_by(size.max(1))
            .map(move |start| start..rows.min(start + size.max(1)))
    };
    let mut written = 0;
    if let DbConnection::Postgres(pg) = conn
        && rows > CACHED_ROWS
    {
        for range in chunk(ARRAY_ROWS_PER_STATEMENT) {
            let part: Vec<ArrayColumn> = columns.iter().map(|c| c.rows(range.clone())).collect();
            let text = statement(&format!("SELECT * FROM {}", unnest(&part)));
            written += ArraySql::new(text, part).execute(pg)?;
        }
        return Ok(written);
    }
    for range in chunk(values_per_statement) {
        let part: Vec<ArrayColumn> = columns.iter().map(|c| c.rows(range.clone())).collect();
        let mut values = Vec::new();
        let text = statement(&values_of(&part, &mut values));
        written += Sql::with_values(text, values)
            .cached_if(range.len() <= CACHED_ROWS)
            .execute(conn)?;
    }
    Ok(written)
}

/// `unnest($1::text[], $2::date[], …)`: the rows of `columns`, as a PostgreSQL table expression.
fn unnest(columns: &[ArrayColumn]) -> String {
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| format!("${}::{}", i + 1, column.array_type()))
        .collect();
    format!("unnest({})", arrays.join(", "))
}

/// PostgreSQL only: a statement over many rows given as whole columns (see [`unnest`]). Bulk
/// writes (imports, the demo) use it: its text is the same however many rows there are, so it is
/// prepared once, and PostgreSQL takes each column as one value instead of parsing and binding a
/// placeholder per cell, as a multi-row `VALUES` makes it do.
struct ArraySql<'a> {
    text: String,
    pieces: Vec<Piece>,
    columns: Vec<ArrayColumn<'a>>,
}

impl<'a> ArraySql<'a> {
    /// `text` with `$1`… standing for `columns`, in order.
    pub fn new(text: String, columns: Vec<ArrayColumn<'a>>) -> Self {
        let pieces = split(&text);
        ArraySql {
            text,
            pieces,
            columns,
        }
    }

    pub fn execute(self, conn: &mut diesel::PgConnection) -> QueryResult<usize> {
        RunQueryDsl::execute(self, conn)
    }
}

impl QueryFragment<Pg> for ArraySql<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        walk_pieces(&self.text, &self.pieces, &mut out, |out, index| {
            Some(match self.columns.get(index)? {
                ArrayColumn::Text(v) => out.push_bind_param::<Array<Text>, _>(v),
                ArrayColumn::Date(v) => out.push_bind_param::<Array<Date>, _>(v),
                ArrayColumn::Integer(v) => out.push_bind_param::<Array<Integer>, _>(v),
                ArrayColumn::BigInt(v) => out.push_bind_param::<Array<BigInt>, _>(v),
            })
        })
    }
}

untyped_query!(ArraySql);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_split_the_text() {
        let pieces = split("SELECT $1, $12 FROM t WHERE a = $1");
        let shape: Vec<String> = pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(r) => format!("L{}", r.len()),
                Piece::Value(i) => format!("V{i}"),
            })
            .collect();
        assert_eq!(shape, ["L7", "V0", "L2", "V11", "L18", "V0", "L0"]);
        let commented = split("-- uses $1\nSELECT '$2', $1 -- and $3\n");
        let values: Vec<usize> = commented
            .iter()
            .filter_map(|p| match p {
                Piece::Value(i) => Some(*i),
                Piece::Literal(_) => None,
            })
            .collect();
        assert_eq!(values, [0]);
    }

    #[test]
    fn values_bind_on_sqlite_and_repeat() {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            a: i64,
            #[diesel(sql_type = Text)]
            b: String,
            #[diesel(sql_type = BigInt)]
            c: i64,
        }
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        for n in [1_i64, 2] {
            let rows: Vec<Row> = Sql::new("SELECT $1 AS a, $2 AS b, $1 + $1 AS c")
                .bind(n)
                .bind("đ")
                .load(&mut conn)
                .unwrap();
            assert_eq!((rows[0].a, rows[0].b.as_str(), rows[0].c), (n, "đ", 2 * n));
        }
        let missing = Sql::new("SELECT $2 AS a").bind(1_i64).execute(&mut conn);
        assert!(missing.is_err());
    }

    #[test]
    fn value_rows_number_every_cell() {
        assert_eq!(value_rows(1, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(value_rows(5, 1, 2), "($5, $6)");
    }

    #[test]
    fn unnest_casts_each_column() {
        let columns = [
            ArrayColumn::Text(vec!["a"]),
            ArrayColumn::Date(vec![]),
            ArrayColumn::Integer(vec![1]),
            ArrayColumn::BigInt(vec![2]),
        ];
        assert_eq!(
            unnest(&columns),
            "unnest($1::text[], $2::date[], $3::int4[], $4::int8[])"
        );
    }
}
