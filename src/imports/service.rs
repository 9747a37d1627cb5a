//! Import rules: parse every line, check every record and every reference, and only then write
//! everything in one transaction (batched inserts, rollups included).

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::model::{
    HouseholdRecord, ImportRecord, ImportSummary, OrderRecord, ProductRecord, ViewsRecord,
};
use futures_util::{Stream, StreamExt};

use crate::auth::CurrentUser;
use crate::auth::model::{AccountStatus, Role};
use crate::context::Context;
use crate::db::{DbConnection, write_transaction};
use crate::error::{AppError, AppResult, FieldError, LineError};
use crate::households::model::{HouseholdDraft, HouseholdStatus};
use crate::households::repo::Household;
use crate::ids::{HouseholdId, OrderId, ProductId, UserId};
use crate::orders::model::{OrderDraft, OrderSource, OrderStatus, Placement};
use crate::orders::repo::{Order, OrderItem};
use crate::products::model::{ProductDraft, ProductStatus};
use crate::products::repo::{Product, ProductSnapshot};
use crate::provinces::{AdminMap, MappedProvince, PlaceFields, ProvinceMap};
use crate::stats::StatsBatch;
use crate::time::{now_utc, parse_date};
use crate::validate::Problems;

/// How many bad lines a rejection lists at most.
pub const MAX_REPORTED_ERRORS: usize = 1000;
const MAX_VIEWS_PER_RECORD: i64 = 1_000_000_000_000;

/// The bad lines of an import: the `MAX_REPORTED_ERRORS` lowest line numbers are kept, the rest
/// only counted, so a file of millions of bad lines does not hold millions of messages.
#[derive(Default)]
pub struct LineErrors {
    /// A max-heap on the line: the top is the first to give way to a lower line.
    kept: BinaryHeap<ByLine>,
    total: u64,
}

struct ByLine(LineError);

impl PartialEq for ByLine {
    fn eq(&self, other: &Self) -> bool {
        self.0.line == other.0.line
    }
}

impl Eq for ByLine {}

impl PartialOrd for ByLine {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByLine {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.line.cmp(&other.0.line)
    }
}

impl LineErrors {
    pub fn push(&mut self, line: u64, message: String) {
        self.total += 1;
        if self.kept.len() == MAX_REPORTED_ERRORS {
            match self.kept.peek() {
                Some(top) if top.0.line > line => {
                    self.kept.pop();
                }
                _ => return,
            }
        }
        self.kept.push(ByLine(LineError { line, message }));
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many errors there were, listed or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept errors by line.
    pub fn into_sorted(self) -> Vec<LineError> {
        let mut errors: Vec<LineError> = self.kept.into_iter().map(|e| e.0).collect();
        errors.sort_by_key(|e| e.line);
        errors
    }
}

/// Splits NDJSON into records as bytes arrive, remembering line numbers and bad lines.
#[derive(Default)]
pub struct NdjsonParser {
    records: Vec<(u64, ImportRecord)>,
    errors: LineErrors,
    pending: Vec<u8>,
    line: u64,
}

impl NdjsonParser {
    pub fn feed(&mut self, mut chunk: &[u8]) {
        while let Some(newline) = chunk.iter().position(|b| *b == b'\n') {
            self.pending.extend_from_slice(&chunk[..newline]);
            let line = std::mem::take(&mut self.pending);
            self.parse_line(&line);
            chunk = &chunk[newline + 1..];
        }
        self.pending.extend_from_slice(chunk);
    }

    fn parse_line(&mut self, raw: &[u8]) {
        self.line += 1;
        let raw = if self.line == 1 {
            raw.strip_prefix("\u{feff}".as_bytes()).unwrap_or(raw)
        } else {
            raw
        };
        if raw.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match serde_json::from_slice::<ImportRecord>(raw) {
            Ok(record) => self.records.push((self.line, record)),
            Err(error) => {
                let message = error.to_string();
                let message = match message.rfind(" at line ") {
                    Some(at) => message[..at].to_owned(),
                    None => message,
                };
                self.errors.push(self.line, message)
            }
        }
    }

    pub fn finish(mut self) -> (Vec<(u64, ImportRecord)>, LineErrors) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.parse_line(&line);
        }
        (self.records, self.errors)
    }
}

/// How much of an upload is parsed in one go on a blocking thread.
const PARSE_BATCH_BYTES: usize = 1 << 20;

/// Imports an NDJSON upload (admins): read as it streams in, at most `limit` bytes (refused
/// before a byte is read when its `declared_length` says more), parsed a batch at a time on a
/// blocking thread (parsing 64 MiB is seconds of CPU, which must not stall the async workers),
/// then checked whole and written in one transaction.
pub async fn import<B, E>(
    ctx: &Context,
    caller: &CurrentUser,
    limit: usize,
    declared_length: Option<usize>,
    mut upload: impl Stream<Item = Result<B, E>> + Unpin,
) -> AppResult<ImportSummary>
where
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    if !caller.is_admin() {
        return Err(AppError::forbidden("imports are for admins"));
    }
    let too_large = || AppError::too_large(format!("an import is at most {limit} bytes"));
    if declared_length.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut parser = NdjsonParser::default();
    let mut batch = Vec::with_capacity(PARSE_BATCH_BYTES);
    let mut received = 0usize;
    while let Some(chunk) = upload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::malformed(format!("could not read the upload: {e}")))?;
        let chunk = chunk.as_ref();
        received += chunk.len();
        if received > limit {
            return Err(too_large());
        }
        batch.extend_from_slice(chunk);
        if batch.len() >= PARSE_BATCH_BYTES {
            let bytes = std::mem::replace(&mut batch, Vec::with_capacity(PARSE_BATCH_BYTES));
            parser = on_blocking_thread(move || {
                parser.feed(&bytes);
                parser
            })
            .await?;
        }
    }
    let (records, errors) = on_blocking_thread(move || {
        parser.feed(&batch);
        parser.finish()
    })
    .await?;
    if records.is_empty() && errors.is_empty() {
        return Err(AppError::unprocessable(
            "import_rejected",
            "the file holds no records",
        ));
    }
    let timezone = ctx.timezone;
    let map = ctx.map.clone();
    ctx.db
        .run(move |conn| {
            let plan = plan(conn, &map, records, errors)?;
            write(conn, plan, timezone, &|_| {})
        })
        .await
}

async fn on_blocking_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("parsing an import")))
}

/// Everything an accepted import writes.
#[derive(Default)]
pub struct ImportPlan {
    pub households: Vec<Household>,
    pub products: Vec<Product>,
    pub orders: Vec<(Order, Vec<OrderItem>)>,
    pub views: BTreeMap<(String, NaiveDate), i64>,
    pub view_records: u64,
}

impl ImportPlan {
    pub fn records(&self) -> u64 {
        (self.households.len() + self.products.len() + self.orders.len()) as u64 + self.view_records
    }
}

/// 422 `import_rejected` listing bad lines (at most `MAX_REPORTED_ERRORS`).
pub fn rejected(errors: LineErrors) -> AppError {
    let count = errors.total();
    let errors = errors.into_sorted();
    let listed = errors.len() as u64;
    let detail = if count > listed {
        format!(
            "{count} lines are invalid: the first {listed} are listed, and {} more; nothing was imported",
            count - listed
        )
    } else {
        format!("{count} line(s) are invalid; nothing was imported")
    };
    AppError::unprocessable("import_rejected", detail).with_line_errors(errors)
}

fn describe(problems: Vec<FieldError>) -> String {
    problems
        .into_iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn timestamp(
    field: &str,
    value: Option<&str>,
    default: NaiveDateTime,
) -> Result<NaiveDateTime, FieldError> {
    match value {
        None => Ok(default),
        Some(text) => DateTime::parse_from_rfc3339(text.trim())
            .map(|t| {
                let micros = t.timestamp_micros();
                DateTime::from_timestamp_micros(micros)
                    .map(|t| t.naive_utc())
                    .unwrap_or(t.naive_utc())
            })
            .map_err(|_| {
                FieldError::new(
                    field,
                    "must be an RFC 3339 timestamp such as 2021-06-30T10:00:00+07:00",
                )
            }),
    }
}

/// A household a record may point at: from this file, or already stored.
#[derive(Clone)]
struct HouseholdTarget {
    id: HouseholdId,
    /// Where its products come from when they do not say: its 2008 province, when known.
    origin: Option<MappedProvince>,
}

/// What a record names another by: a `ref` of this file, or the id of a stored row.
fn stored_id(reference: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::try_parse(reference.trim()).ok()
}

const NO_HOUSEHOLD: &str = "names no household of this file (ref) or of the platform (id)";
const NO_PRODUCT: &str = "names no product of this file (ref) or of the platform (id)";

/// Checks every record against the rules, the administrative map and the database; every bad
/// line is reported.
pub fn plan(
    conn: &mut DbConnection,
    map: &AdminMap,
    records: Vec<(u64, ImportRecord)>,
    mut errors: LineErrors,
) -> Result<ImportPlan, AppError> {
    let now = now_utc();
    let mut fail = |line: u64, message: String| errors.push(line, message);

    // First pass: the refs this file defines, and what it refers to outside itself.
    let mut household_refs: HashMap<String, (u64, HouseholdTarget)> = HashMap::new();
    let mut product_refs: HashMap<String, (u64, ProductId)> = HashMap::new();
    let mut emails = HashSet::new();
    let mut outside_ids = HashSet::new();
    for (line, record) in &records {
        match record {
            ImportRecord::Household(h) => {
                if let Some(email) = &h.owner_email {
                    emails.insert(email_key(email));
                }
                let target = HouseholdTarget {
                    id: HouseholdId::generate(),
                    origin: None,
                };
                if let Some((first, _)) =
                    household_refs.insert(h.reference.clone(), (*line, target))
                {
                    fail(
                        *line,
                        format!("ref {:?} is already used on line {first}", h.reference),
                    );
                }
            }
            ImportRecord::Product(p) => {
                outside_ids.insert(p.household.clone());
                if let Some((first, _)) =
                    product_refs.insert(p.reference.clone(), (*line, ProductId::generate()))
                {
                    fail(
                        *line,
                        format!("ref {:?} is already used on line {first}", p.reference),
                    );
                }
            }
            ImportRecord::Order(o) => {
                outside_ids.insert(o.household.clone());
                outside_ids.extend(o.items.iter().map(|i| i.product.clone()));
                if let Some(email) = &o.buyer_email {
                    emails.insert(email_key(email));
                }
            }
            ImportRecord::Views(v) => {
                outside_ids.insert(v.product.clone());
            }
        }
    }

    // What already exists: households, products and users named by the file.
    let ids: Vec<uuid::Uuid> = outside_ids
        .into_iter()
        .filter(|id| !household_refs.contains_key(id) && !product_refs.contains_key(id))
        .filter_map(|id| stored_id(&id))
        .collect();
    let mut stored_households: HashMap<HouseholdId, HouseholdTarget> = HashMap::new();
    let mut stored_products: HashMap<ProductId, ProductSnapshot> = HashMap::new();
    for chunk in ids.chunks(1000) {
        let households: Vec<HouseholdId> = chunk.iter().map(|id| HouseholdId(*id)).collect();
        for (id, province_code, current_code) in
            crate::households::repo::provinces_of(conn, &households)?
        {
            let origin = MappedProvince {
                code: province_code,
                map: ProvinceMap::Former,
                current_code: current_code.unwrap_or_default(),
            };
            let origin = Some(origin);
            stored_households.insert(id, HouseholdTarget { id, origin });
        }
        let products: Vec<ProductId> = chunk.iter().map(|id| ProductId(*id)).collect();
        for p in crate::products::repo::snapshots(conn, &products)? {
            stored_products.insert(p.id, p);
        }
    }
    // A key with a control character names no account (none was registered so), and PostgreSQL
    // refuses a NUL in text: it is not looked up.
    let emails: Vec<String> = emails
        .into_iter()
        .filter(|key| !key.chars().any(char::is_control))
        .collect();
    let mut accounts = Accounts::default();
    for chunk in emails.chunks(1000) {
        let rows = crate::auth::repo::accounts_by_email_keys(conn, chunk)?;
        let farmers: Vec<UserId> = (rows.iter())
            .filter(|(_, _, role, _)| *role == Role::Farmer)
            .map(|(_, id, _, _)| *id)
            .collect();
        accounts
            .with_suspended_household
            .extend(crate::households::repo::owners_with_status(
                conn,
                &farmers,
                HouseholdStatus::Suspended,
            )?);
        (accounts.by_email_key).extend(
            rows.into_iter()
                .map(|(key, id, role, status)| (key, (id, role, status))),
        );
    }

    // Second pass: every record in full. Households first (a product defaults to its household's
    // province), then products, so orders can see their snapshots.
    let mut plan = ImportPlan::default();
    for (line, record) in &records {
        if let ImportRecord::Household(h) = record {
            match household_row(h, &household_refs, map, &accounts, now) {
                Ok(row) => {
                    let origin = MappedProvince {
                        code: row.province_code.clone(),
                        map: ProvinceMap::Former,
                        current_code: row.current_province_code.clone().unwrap_or_default(),
                    };
                    if let Some((_, target)) = household_refs.get_mut(&h.reference) {
                        target.origin = Some(origin);
                    }
                    plan.households.push(row)
                }
                Err(message) => fail(*line, message),
            }
        }
    }
    let household_of = |reference: &str| -> Option<HouseholdTarget> {
        household_refs
            .get(reference)
            .map(|(_, t)| t.clone())
            .or_else(|| {
                stored_households
                    .get(&HouseholdId(stored_id(reference)?))
                    .cloned()
            })
    };
    let mut product_targets: HashMap<String, ProductSnapshot> = HashMap::new();
    for (line, record) in &records {
        if let ImportRecord::Product(p) = record {
            match product_row(p, &product_refs, household_of(&p.household), map, now) {
                Ok(row) => {
                    product_targets.insert(p.reference.clone(), row.snapshot());
                    plan.products.push(row)
                }
                Err(message) => fail(*line, message),
            }
        }
    }
    let product_of = |reference: &str| -> Option<ProductSnapshot> {
        product_targets.get(reference).cloned().or_else(|| {
            stored_products
                .get(&ProductId(stored_id(reference)?))
                .cloned()
        })
    };
    for (line, record) in &records {
        match record {
            ImportRecord::Order(o) => {
                match order_rows(o, household_of(&o.household), &product_of, &accounts, map) {
                    Ok(order) => plan.orders.push(order),
                    Err(message) => fail(*line, message),
                }
            }
            ImportRecord::Views(v) => match views_row(v, &product_of) {
                Ok((product_id, day, count)) => {
                    *plan.views.entry((product_id.to_db(), day)).or_default() += count;
                    plan.view_records += 1;
                }
                Err(message) => fail(*line, message),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(rejected(errors))
    }
}

/// The accounts the file's emails name.
#[derive(Default)]
struct Accounts {
    by_email_key: HashMap<String, (UserId, Role, AccountStatus)>,
    /// Farmers among them who own a suspended household.
    with_suspended_household: HashSet<UserId>,
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The account an email names, if it is one of `role`.
fn account(
    problems: &mut Problems,
    field: &str,
    email: Option<&str>,
    accounts: &Accounts,
    role: Role,
) -> Option<UserId> {
    match accounts.by_email_key.get(&email_key(email?)) {
        Some((id, found, _)) if *found == role => Some(*id),
        Some(_) => {
            problems.add(field, format!("names an account that is not a {role}"));
            None
        }
        None => {
            problems.add(field, "names no account");
            None
        }
    }
}

fn household_row(
    h: &HouseholdRecord,
    refs: &HashMap<String, (u64, HouseholdTarget)>,
    map: &AdminMap,
    accounts: &Accounts,
    now: NaiveDateTime,
) -> Result<Household, String> {
    let mut problems = Problems::new();
    if h.reference.trim().is_empty() {
        problems.add("ref", "must not be empty");
    }
    let draft = HouseholdDraft::parse(&mut problems, h.input(), map);
    let joined_at = problems.check(timestamp("joined_at", h.joined_at.as_deref(), now));
    let status = h
        .status
        .as_deref()
        .map_or(Some(HouseholdStatus::Active), |s| {
            problems.check(HouseholdStatus::parse_field("status", s))
        });
    let owner_id = account(
        &mut problems,
        "owner_email",
        h.owner_email.as_deref(),
        accounts,
        Role::Farmer,
    );
    // As `POST /households` refuses them: a suspended account signs in no more, and a farmer an
    // admin has stopped once does not start over under a new household.
    if let (Some(owner), Some(HouseholdStatus::Active), Some(email)) =
        (owner_id, status, h.owner_email.as_deref())
    {
        let suspended = accounts
            .by_email_key
            .get(&email_key(email))
            .is_some_and(|(_, _, s)| *s == AccountStatus::Suspended);
        if suspended {
            problems.add("owner_email", "names a suspended account");
        } else if accounts.with_suspended_household.contains(&owner) {
            problems.add("owner_email", "names a farmer with a suspended household");
        }
    }
    let (Some(draft), Some(joined_at), Some(status)) = (draft, joined_at, status) else {
        return Err(describe(problems.0));
    };
    if !problems.is_empty() {
        return Err(describe(problems.0));
    }
    let (_, target) = &refs[&h.reference];
    Ok(draft.into_row(target.id, owner_id, status, joined_at))
}

fn product_row(
    p: &ProductRecord,
    refs: &HashMap<String, (u64, ProductId)>,
    household: Option<HouseholdTarget>,
    map: &AdminMap,
    now: NaiveDateTime,
) -> Result<Product, String> {
    let mut problems = Problems::new();
    if p.reference.trim().is_empty() {
        problems.add("ref", "must not be empty");
    }
    if household.is_none() {
        problems.add("household", NO_HOUSEHOLD);
    }
    let created_at = problems
        .check(timestamp("created_at", p.created_at.as_deref(), now))
        .unwrap_or(now);
    let origin = match &p.origin_province_code {
        Some(code) => map.province(
            &mut problems,
            PlaceFields::ORIGIN,
            code,
            p.origin_map.as_deref(),
        ),
        // A household of this file with a bad place has its own line's error.
        None => household.as_ref().and_then(|h| h.origin.clone()),
    };
    let product = ProductDraft::parse(&mut problems, p.input(), ProductStatus::ALL);
    let (Some(household), Some(origin)) = (household, origin) else {
        return Err(describe(problems.0));
    };
    if !problems.is_empty() {
        return Err(describe(problems.0));
    }
    let (_, id) = refs[&p.reference];
    let names = map.search_names(&origin.code, origin.map);
    Ok(product.into_row(id, household.id, origin, &names, created_at))
}

/// An order of history: the order rules of a placed one (through the same draft), its products
/// found among this file's and the platform's, in the status it reached, with no stock taken.
fn order_rows(
    o: &OrderRecord,
    household: Option<HouseholdTarget>,
    product_of: &dyn Fn(&str) -> Option<ProductSnapshot>,
    accounts: &Accounts,
    map: &AdminMap,
) -> Result<(Order, Vec<OrderItem>), String> {
    let mut problems = Problems::new();
    let Some(household) = household else {
        return Err(format!("household: {NO_HOUSEHOLD}"));
    };
    let placed_at = problems.check(timestamp("placed_at", Some(&o.placed_at), now_utc()));
    let status = o
        .status
        .as_deref()
        .map_or(Some(OrderStatus::Delivered), |s| {
            problems.check(OrderStatus::parse_field("status", s))
        });
    let buyer_id = account(
        &mut problems,
        "buyer_email",
        o.buyer_email.as_deref(),
        accounts,
        Role::Buyer,
    );
    let draft = OrderDraft::parse(
        &mut problems,
        &o.input(),
        OrderSource::History,
        map,
        |reference| match product_of(reference) {
            None => Err(NO_PRODUCT),
            Some(product) if product.household_id != household.id => {
                Err("belongs to another household than the order")
            }
            Some(product) => Ok(product),
        },
        |product| product.id,
    );
    let order_id = OrderId::generate();
    let mut items = Vec::with_capacity(draft.lines.len());
    for (i, line) in draft.lines.iter().enumerate() {
        let price = line.unit_price_vnd.unwrap_or(line.product.price_vnd);
        match OrderItem::of(order_id, i, &line.product, line.quantity, price) {
            Some(item) => items.push(item),
            None => problems.add(format!("items[{i}]"), "the line's total is too large"),
        }
    }
    let (Some(placed_at), Some(status)) = (placed_at, status) else {
        return Err(describe(problems.0));
    };
    if !problems.is_empty() {
        return Err(describe(problems.0));
    }
    let placement = Placement {
        id: order_id,
        buyer_id,
        household_id: household.id,
        status,
        placed_at,
        stock_taken: false,
    };
    let order = draft
        .into_order(placement, &items)
        .map_err(|problem| format!("items: {problem}"))?;
    Ok((order, items))
}

fn views_row(
    v: &ViewsRecord,
    product_of: &dyn Fn(&str) -> Option<ProductSnapshot>,
) -> Result<(ProductId, NaiveDate, i64), String> {
    let mut problems = Problems::new();
    let product = product_of(&v.product);
    if product.is_none() {
        problems.add("product", NO_PRODUCT);
    }
    let day = parse_date(&v.date);
    if day.is_none() {
        problems.add("date", "must be a date YYYY-MM-DD");
    }
    if !(0..=MAX_VIEWS_PER_RECORD).contains(&v.count) {
        problems.add("count", "must be between 0 and 10^12");
    }
    match (product, day) {
        (Some(product), Some(day)) if problems.is_empty() => Ok((product.id, day, v.count)),
        _ => Err(describe(problems.0)),
    }
}

/// Writes an accepted plan in one transaction, with its rollups; `progress` hears of each batch.
pub fn write(
    conn: &mut DbConnection,
    mut plan: ImportPlan,
    timezone: chrono_tz::Tz,
    progress: &dyn Fn(u64),
) -> Result<ImportSummary, AppError> {
    let summary = ImportSummary {
        households: plan.households.len() as u64,
        products: plan.products.len() as u64,
        orders: plan.orders.len() as u64,
        views: plan.view_records,
    };
    let started = std::time::Instant::now();
    let phase = |name: &str| {
        tracing::debug!(
            phase = name,
            seconds = started.elapsed().as_secs_f64(),
            "import"
        )
    };
    let views: Vec<(String, NaiveDate, i64)> = plan
        .views
        .iter()
        .map(|((p, d), c)| (p.clone(), *d, *c))
        .collect();
    // Views of products this file lists go into their rows as they are written; updating 100k
    // fresh rows afterwards would rewrite each, and every index of the table with it.
    let mut view_totals = crate::products::repo::view_totals(&views);
    for product in &mut plan.products {
        if let Some(count) = view_totals.remove(product.id.to_db().as_str()) {
            product.views += count;
        }
    }
    let stored_product_views: Vec<(&str, i64)> = view_totals.into_iter().collect();
    write_transaction(conn, |conn| {
        let mut rollups = StatsBatch::new(timezone);
        let mut done = 0u64;
        for chunk in plan.households.chunks(1000) {
            crate::households::repo::insert_many(conn, chunk)?;
            chunk
                .iter()
                .for_each(|h| rollups.household_joined(h.joined()));
            done += chunk.len() as u64;
            progress(done);
        }
        phase("households written");
        for chunk in plan.products.chunks(1000) {
            crate::products::repo::insert_many(conn, chunk)?;
            chunk
                .iter()
                .for_each(|p| rollups.product_listed(p.listed()));
            done += chunk.len() as u64;
            progress(done);
        }
        phase("products written");
        for chunk in plan.orders.chunks(1000) {
            let headers: Vec<&Order> = chunk.iter().map(|(o, _)| o).collect();
            let lines: Vec<&OrderItem> = chunk.iter().flat_map(|(_, items)| items).collect();
            crate::orders::repo::insert_many(conn, &headers, &lines)?;
            chunk
                .iter()
                .filter_map(|(o, items)| o.placed(items))
                .for_each(|placed| rollups.order_placed(&placed));
            done += chunk.len() as u64;
            progress(done);
        }
        phase("orders written");
        crate::products::repo::add_view_days(conn, &views)?;
        crate::products::repo::add_product_views(conn, &stored_product_views)?;
        for (_, day, count) in &views {
            rollups.views(*day, *count);
        }
        progress(done + plan.view_records);
        phase("views written");
        rollups.write(conn)?;
        phase("rollups written");
        Ok::<_, AppError>(())
    })?;
    phase("committed");
    // The import is stored: a failure here (SQLite busy with the writer, say) must not tell the
    // admin otherwise, or a retry would store it twice. The planners catch up later anyway.
    match refresh_statistics(conn) {
        Ok(()) => phase("planner statistics refreshed"),
        Err(error) => {
            tracing::warn!(%error, "the import is stored; refreshing the planner statistics failed")
        }
    }
    Ok(summary)
}

/// After a bulk import the query planners' statistics are stale (PostgreSQL's autovacuum catches
/// up later; SQLite never does by itself): refresh them so searches and reports get good plans.
fn refresh_statistics(conn: &mut DbConnection) -> Result<(), AppError> {
    use diesel::connection::SimpleConnection;
    let sql = match conn {
        DbConnection::Postgres(_) => {
            "ANALYZE households, products, orders, order_items, product_view_days, stats_days, \
             stats_household_days, stats_product_days, stats_product_export_days, stats_category_days, \
             stats_active_months"
        }
        DbConnection::Sqlite(_) => "ANALYZE",
    };
    conn.batch_execute(sql)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_errors_keep_the_lowest_lines_and_count_the_rest() {
        let mut errors = LineErrors::default();
        // Later passes report lower lines again: the kept ones are still the lowest.
        for line in (1..=3000u64).rev() {
            errors.push(line, format!("bad {line}"));
            assert!(errors.kept.len() <= MAX_REPORTED_ERRORS);
        }
        errors.push(5000, "late".to_owned());
        assert_eq!(errors.total(), 3001);
        let kept = errors.into_sorted();
        assert_eq!(kept.len(), MAX_REPORTED_ERRORS);
        assert_eq!(kept[0].line, 1);
        assert_eq!(
            kept[MAX_REPORTED_ERRORS - 1].line,
            MAX_REPORTED_ERRORS as u64
        );
        assert_eq!(kept[0].message, "bad 1");
    }

    #[test]
    fn a_rejection_says_how_many_more_there_are() {
        let mut errors = LineErrors::default();
        for line in 1..=1500 {
            errors.push(line, "bad".to_owned());
        }
        match rejected(errors) {
            AppError::Client { detail, errors, .. } => {
                assert_eq!(errors.len(), MAX_REPORTED_ERRORS);
                assert!(detail.contains("and 500 more"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
}
