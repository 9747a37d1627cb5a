//! HTTP plumbing shared by every domain: JSON and query extractors whose failures are
//! problem+json with field paths, and paging.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

pub mod idempotency;
pub mod resource;
pub mod spreadsheet;
pub use idempotency::IdempotencyKey;
pub(crate) use resource::api_resource;
pub use resource::{Problem, registered_routes};

/// A JSON request body. Unlike actix's `web::Json`, a wrong shape names the field
/// (`items[0].quantity`) and every failure is one of our problem documents.
pub struct ApiJson<T>(pub T);

/// A JSON body that may be left out entirely (empty body, no content type), for actions such
/// as logout, confirm or cancel.
pub struct OptionalJson<T>(pub Option<T>);

type LocalFuture<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

fn declares_json(req: &HttpRequest) -> Option<bool> {
    let value = req.headers().get(header::CONTENT_TYPE)?;
    let mime = value
        .to_str()
        .ok()?
        .split(';')
        .next()?
        .trim()
        .to_ascii_lowercase();
    Some(
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")),
    )
}

fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<web::Bytes, AppError>> + use<> {
    let body = web::Bytes::from_request(req, payload);
    async move {
        body.await.map_err(|e| {
            let status = e.as_response_error().status_code();
            if status == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::client(status, "payload_too_large", "the request body is too large")
            } else {
                AppError::malformed(format!("could not read the request body: {e}"))
            }
        })
    }
}

/// The body parsed as JSON; with `optional`, a blank body is `None` whatever its content type.
fn json_body<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    optional: bool,
) -> LocalFuture<Option<T>> {
    let is_json = declares_json(req);
    let body = read_body(req, payload);
    Box::pin(async move {
        // A required body of another type is refused before it is read.
        if !optional && is_json != Some(true) {
            return Err(unsupported_media_type());
        }
        let body = body.await?;
        if optional && body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if is_json != Some(true) {
            return Err(unsupported_media_type());
        }
        parse_json(&body).map(Some)
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body(req, payload, false);
        Box::pin(async move {
            body.await?
                .map(ApiJson)
                .ok_or_else(|| AppError::malformed("a JSON body is required"))
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body(req, payload, true);
        Box::pin(async move { body.await.map(OptionalJson) })
    }
}

fn unsupported_media_type() -> AppError {
    AppError::client(
        actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send the body as application/json",
    )
}

/// Parses a JSON document: bad syntax is 400 `malformed_request`; a wrong shape, a wrong
/// type or an unknown field is 422 `validation_failed` naming the field.
/// Every request body of the API is a JSON object (serde would also accept an array for a struct).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        return Err(AppError::invalid_field("body", "must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| (error.path().to_string(), error.into_inner()))
        .and_then(|value| {
            deserializer
                .end()
                .map(|()| value)
                .map_err(|e| (".".to_owned(), e))
        });
    value.map_err(|(path, inner)| {
        let message = strip_position(&inner.to_string());
        // A shape error found before a syntax error further on is still a malformed body.
        let well_formed = serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
        match inner.classify() {
            serde_json::error::Category::Data if well_formed => {
                let field = field_of(&path, &message);
                AppError::invalid_field(field, message)
            }
            _ => AppError::malformed(format!("the body is not valid JSON: {message}")),
        }
    })
}

/// serde_json appends " at line 1 column 7" to its messages; clients get the field instead.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// The field path for a deserialisation error: serde's path, completed with the missing field's
/// name, or "body" for the document as a whole.
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let path = if path == "." { "" } else { path };
    match (path, missing) {
        ("", Some(name)) => name.to_owned(),
        (path, Some(name)) => format!("{path}.{name}"),
        ("", None) => "body".to_owned(),
        (path, None) => path.to_owned(),
    }
}

/// A query string; a parameter that cannot be parsed is 400 `malformed_request` naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(ApiQuery))
    }
}

/// Longest value (or name) of any query parameter, in characters: none of the API's needs more
/// (a search is at most 200 characters), and a longer one is only work for nothing.
pub const QUERY_VALUE_MAX_CHARS: usize = 200;

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    check_query_lengths(query)?;
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let field = field_of(&path, &message);
        AppError::malformed(format!("bad query parameter {field}: {message}"))
            .with_field_errors(vec![FieldError::new(field, message)])
    })
}

/// 422 naming the first query parameter whose name or value is too long.
fn check_query_lengths(query: &str) -> Result<(), AppError> {
    let too_long = |text: &str| text.chars().nth(QUERY_VALUE_MAX_CHARS).is_some();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if too_long(&name) || too_long(&value) {
            let field = if too_long(&name) {
                "query".to_owned()
            } else {
                name.into_owned()
            };
            return Err(AppError::invalid_field(
                field,
                format!("must be at most {QUERY_VALUE_MAX_CHARS} characters"),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Paging {
    pub const MAX_PER_PAGE: i64 = 100;

    /// `?page=1&per_page=20`, validated: page ≥ 1, per_page 1..=100.
    pub fn parse(page: Option<i64>, per_page: Option<i64>, errors: &mut Vec<FieldError>) -> Paging {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(20);
        if !(1..=1_000_000).contains(&page) {
            errors.push(FieldError::new("page", "must be between 1 and 1000000"));
        }
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            errors.push(FieldError::new("per_page", "must be between 1 and 100"));
        }
        Paging {
            page: page.clamp(1, 1_000_000),
            per_page: per_page.clamp(1, Self::MAX_PER_PAGE),
        }
    }

    /// The same, for a listing whose only parameters are the paging: 422 naming them if bad.
    pub fn checked(page: Option<i64>, per_page: Option<i64>) -> Result<Paging, AppError> {
        let mut errors = Vec::new();
        let paging = Paging::parse(page, per_page, &mut errors);
        if errors.is_empty() {
            Ok(paging)
        } else {
            Err(AppError::validation(errors))
        }
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

/// One page of a list: `{"items": [...], "page": 1, "per_page": 20, "total": 123}`. Its
/// OpenAPI schema is declared per item type with [`page_schema!`].
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, paging: Paging, total: i64) -> Self {
        Page {
            items,
            page: paging.page,
            per_page: paging.per_page,
            total,
        }
    }

    /// The same page with each item turned into how the API shows it.
    pub fn map<U>(self, show: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(show).collect(),
            page: self.page,
            per_page: self.per_page,
            total: self.total,
        }
    }
}

/// Declares the OpenAPI schema of a [`Page`] of `$item` under the name `$name`. utoipa inlines
/// a generic's type argument (`Page<T>` would document its items as an anonymous object, and a
/// generated client would get `PageProductViewItemsItem`); this schema refers to `$item`.
macro_rules! page_schema {
    ($name:ident, $item:ty) => {
        #[doc = concat!("One page of ", stringify!($item), " (the schema of [`crate::api::Page`]).")]
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub(crate) struct $name {
            items: Vec<$item>,
            page: i64,
            per_page: i64,
            total: i64,
        }
    };
}
pub(crate) use page_schema;

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        quantity: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        items: Vec<Item>,
    }

    fn field_errors(error: AppError) -> (&'static str, Vec<String>) {
        match error {
            AppError::Client { code, errors, .. } => (
                code,
                errors
                    .into_iter()
                    .map(|e| match e {
                        crate::error::ProblemItem::Field(f) => f.field,
                        crate::error::ProblemItem::Line(l) => l.line.to_string(),
                    })
                    .collect(),
            ),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        let err = parse_json::<Body>(br#"{"items": [{"quantity": "x"}]}"#).unwrap_err();
        assert_eq!(
            field_errors(err),
            ("validation_failed", vec!["items[0].quantity".to_owned()])
        );
        let err = parse_json::<Body>(br#"{"items": [{}]}"#).unwrap_err();
        assert_eq!(
            field_errors(err),
            ("validation_failed", vec!["items[0].quantity".to_owned()])
        );
        let err = parse_json::<Body>(br#"{"items": [], "extra": 1}"#).unwrap_err();
        assert_eq!(
            field_errors(err),
            ("validation_failed", vec!["extra".to_owned()])
        );
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Search {
        q: Option<String>,
    }

    #[test]
    fn overlong_query_parameters_are_refused_naming_them() {
        let longest = "ả".repeat(QUERY_VALUE_MAX_CHARS);
        assert!(parse_query::<Search>(&format!("q={longest}")).is_ok());
        let err = parse_query::<Search>(&format!("q={longest}x")).unwrap_err();
        assert_eq!(
            field_errors(err),
            ("validation_failed", vec!["q".to_owned()])
        );
        let err = parse_query::<Search>(&format!("other=1&sort={longest}x")).unwrap_err();
        assert_eq!(
            field_errors(err),
            ("validation_failed", vec!["sort".to_owned()])
        );
        let err = parse_query::<Search>(&format!("{longest}x=1")).unwrap_err();
        assert_eq!(
            field_errors(err),
            ("validation_failed", vec!["query".to_owned()])
        );
    }

    #[test]
    fn bad_syntax_and_trailing_garbage_are_malformed() {
        assert_eq!(
            parse_json::<Body>(b"{").unwrap_err().code(),
            "malformed_request"
        );
        assert_eq!(
            parse_json::<Body>(br#"{"items": []} x"#)
                .unwrap_err()
                .code(),
            "malformed_request"
        );
    }
}
