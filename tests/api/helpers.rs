//! Test harness: `spawn_app(backend)` starts the app in this process against a fresh database
//! (a temporary SQLite file, or `CREATE DATABASE test_<uuid>` on PostgreSQL, dropped afterwards);
//! `ServerProcess` runs the real binary for tests that need separate processes.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use diesel::{Connection, PgConnection, RunQueryDsl};
use nongsan::config::Settings;
use nongsan::startup::Application;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Runs each named `async fn name(app: TestApp)` once per backend, as `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await
                    .expect("SQLite is always available");
                super::$name(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

/// Like `on_both_backends!` for tests that start their own server with adjusted settings:
/// each `async fn name(backend: Backend)` runs as `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! with_each_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await;
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn pg_admin_url() -> String {
    std::env::var("NONGSAN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Whether PostgreSQL tests can run. Without a server they are skipped, except under CI,
/// where that is a failure.
fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| match PgConnection::establish(&pg_admin_url()) {
        Ok(_) => true,
        Err(error) => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "CI is set but PostgreSQL at {} does not answer: {error}",
                    pg_admin_url()
                );
            }
            eprintln!(
                "skipping PostgreSQL tests: no server at {} ({error}); set NONGSAN_TEST_PG_URL",
                pg_admin_url()
            );
            false
        }
    })
}

/// A fresh database that removes itself when dropped.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    name: String,
}

impl TestDatabase {
    pub fn create(backend: Backend) -> Option<TestDatabase> {
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => Some(TestDatabase::sqlite_at(
                std::env::temp_dir().join(format!("nongsan-{name}.db")),
            )),
            Backend::Postgres => {
                if !postgres_available() {
                    return None;
                }
                let admin = pg_admin_url();
                let mut conn = PgConnection::establish(&admin).expect("connect to PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .unwrap_or(&admin);
                Some(TestDatabase {
                    backend,
                    url: format!("{base}/{name}"),
                    name,
                })
            }
        }
    }

    /// A SQLite database at `path` (a file not yet there), removed when dropped.
    pub fn sqlite_at(path: PathBuf) -> TestDatabase {
        TestDatabase {
            backend: Backend::Sqlite,
            url: path.to_string_lossy().into_owned(),
            name: String::new(),
        }
    }
}

/// A small filesystem to fill: a tmpfs mounted on a fresh directory, unmounted when dropped.
/// Mounting needs root (CAP_SYS_ADMIN), as CI has; elsewhere `mount` answers `None`, saying why.
/// (A mount namespace of the test's own would keep it from everyone else, but SQLite and tantivy
/// resolve `/proc/<pid>/root` paths back to the host's files.)
pub struct SmallDisk {
    dir: PathBuf,
}

/// What the test disks are mounted as (the device column of `/proc/mounts`).
const SMALL_DISK: &str = "nongsan-test";

impl SmallDisk {
    pub fn mount(megabytes: u32) -> Option<SmallDisk> {
        unmount_left_over_disks();
        let name = format!(
            "nongsan-disk-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir(&dir).expect("a mount point");
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={megabytes}m"),
                SMALL_DISK,
            ])
            .arg(&dir)
            .output();
        let reason = match mounted {
            Ok(output) if output.status.success() => return Some(SmallDisk { dir }),
            Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            Err(error) => error.to_string(),
        };
        let _ = std::fs::remove_dir(&dir);
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but a small disk cannot be mounted (it needs root): {reason}");
        }
        eprintln!("skipping a full-disk test: cannot mount a small disk (it needs root): {reason}");
        None
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Takes up all the room left with a ballast file.
    pub fn fill(&self) {
        use std::io::Write;
        let mut ballast = std::fs::File::create(self.path("ballast")).expect("a ballast file");
        let chunk = vec![0u8; 64 * 1024];
        while ballast.write_all(&chunk).is_ok() {}
        // What is left of the last chunk, a byte at a time.
        while ballast.write_all(&[0]).is_ok() {}
    }

    /// Removes the ballast: what an operator does about a full disk.
    pub fn make_room(&self) {
        std::fs::remove_file(self.path("ballast")).expect("remove the ballast");
    }
}

fn unmount(dir: &std::path::Path) {
    // Lazily: a file the test still holds open must not keep the mount.
    let _ = Command::new("umount").arg("-l").arg(dir).status();
    let _ = std::fs::remove_dir(dir);
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        unmount(&self.dir);
    }
}

/// Unmounts the test disks of test processes that died before they could (their pid is in the
/// directory's name).
fn unmount_left_over_disks() {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    for line in mounts.lines() {
        let mut fields = line.split_whitespace();
        let (Some(SMALL_DISK), Some(dir)) = (fields.next(), fields.next()) else {
            continue;
        };
        let pid = dir
            .rsplit('/')
            .next()
            .and_then(|name| name.strip_prefix("nongsan-disk-"))
            .and_then(|rest| rest.split('-').next());
        if let Some(pid) = pid
            && !std::path::Path::new("/proc").join(pid).exists()
        {
            unmount(std::path::Path::new(dir));
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self.backend {
            Backend::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.url));
                }
            }
            Backend::Postgres => {
                if let Ok(mut conn) = PgConnection::establish(&pg_admin_url()) {
                    let _ = diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    ))
                    .execute(&mut conn);
                }
            }
        }
    }
}

/// Settings for a test server: defaults, a random port, the given database.
pub fn test_settings(database_url: &str) -> Settings {
    let mut settings = Settings::defaults();
    settings.server.bind = "127.0.0.1:0".to_owned();
    settings.server.workers = 2;
    settings.database.url = database_url.to_owned();
    settings.database.pool_size = 4;
    // Tests read their own writes at once; the catalogue cache has a test of its own.
    settings.catalogue.cache_ttl = Duration::ZERO;
    // Each test server keeps its search index in memory (many run at once; a directory is
    // one process's); the on-disk index has tests of its own.
    settings.catalogue.index_dir = String::new();
    settings.catalogue.follow_interval = Duration::from_millis(50);
    // Tests open products repeatedly from one address; the view dedup has tests of its own.
    settings.views.dedup_window = Duration::ZERO;
    // Tests register many accounts from 127.0.0.1, and many servers share two cores: the
    // registration throttle and the hashing queue have tests of their own with small bounds.
    settings.auth.registrations_per_address = 1_000_000;
    settings.auth.hash_queue_timeout = Duration::from_secs(60);
    settings.payments.notification_secret = BANK_SECRET.to_owned();
    // Tests hold many unpaid transfers per buyer; the limit has a test of its own.
    settings.payments.max_unpaid_transfers_per_buyer = 1_000_000;
    settings
}

/// The key test servers verify bank notifications with.
pub const BANK_SECRET: &str = "test-bank-secret";

/// A running server in this process.
pub struct RunningServer {
    pub address: String,
    /// The `/metrics` listener when `metrics.bind` is set.
    pub metrics_address: Option<String>,
    handle: ServerHandle,
}

impl RunningServer {
    pub async fn start(settings: Settings) -> RunningServer {
        let app = Application::build(settings).expect("build the app");
        let address = format!("http://127.0.0.1:{}", app.port());
        let metrics_address = app
            .metrics_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        RunningServer {
            address,
            metrics_address,
            handle,
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub server: RunningServer,
    pub database: TestDatabase,
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like `spawn_app`, with a chance to change the settings first.
pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    if std::env::var_os("TEST_LOG").is_some() {
        nongsan::telemetry::init(&Settings::defaults().log);
    }
    let database = TestDatabase::create(backend)?;
    Some(spawn_app_on(database, adjust).await)
}

/// Like `spawn_app_with`, on a database made beforehand.
pub async fn spawn_app_on(database: TestDatabase, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(&database.url);
    adjust(&mut settings);
    let server = RunningServer::start(settings).await;
    TestApp {
        address: server.address.clone(),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            // Shorter than the server's keep-alive: never send on a connection the server is closing.
            .pool_idle_timeout(Duration::from_secs(20))
            .build()
            .expect("http client"),
        server,
        database,
    }
}

/// Sends a request and keeps what a client sees; no request may produce a 500.
pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e:?}"));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    assert_ne!(status.as_u16(), 500, "a request produced a 500: {text}");
    Answer {
        status,
        headers,
        text,
    }
}

/// What a client sees of one response.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a problem+json answer with this status and code, and returns its body.
    pub fn assert_problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "body: {}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["code"], code, "body: {}", self.text);
        assert_eq!(body["status"], status);
        assert_eq!(body["type"], "about:blank");
        assert!(body["title"].is_string() && body["detail"].is_string());
        assert!(body["errors"].is_array());
        body
    }

    /// The fields named in a problem's `errors`.
    pub fn problem_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub const PASSWORD: &str = "mật-khẩu-8";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') && !path.starts_with("/api/") && !is_root_path(path) {
            format!("{}/api/v1{path}", self.address)
        } else {
            format!("{}{path}", self.address)
        }
    }

    /// Sends a request; `path` is under `/api/v1` unless it is a root path like `/healthz`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    /// A bodiless POST (actions such as logout).
    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::POST, path, token, None).await
    }

    /// Sends raw bytes with a content type of our choosing.
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Answer {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        send(request).await
    }

    pub async fn register(&self, email: &str, role: &str) -> Answer {
        self.post(
            "/auth/register",
            None,
            json!({"email": email, "password": PASSWORD, "full_name": format!("Người dùng {email}"), "role": role}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        self.post(
            "/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// Registers a user with `role` and returns a token for them.
    pub async fn signed_in(&self, role: &str) -> String {
        let email = format!("{role}-{}@example.vn", uuid::Uuid::new_v4().simple());
        assert_eq!(self.register(&email, role).await.status, 201);
        let answer = self.login(&email, PASSWORD).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json()["token"].as_str().expect("token").to_owned()
    }

    /// Creates an admin with the real binary's `admin create` and returns a token for them.
    pub async fn signed_in_admin(&self) -> String {
        let email = format!("admin-{}@example.vn", uuid::Uuid::new_v4().simple());
        create_admin_with_cli(&self.database.url, &email, PASSWORD).expect("admin created");
        let answer = self.login(&email, PASSWORD).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json()["token"].as_str().expect("token").to_owned()
    }
}

fn is_root_path(path: &str) -> bool {
    ["/healthz", "/readyz", "/metrics", "/docs"]
        .iter()
        .any(|root| {
            path == *root
                || path.starts_with(&format!("{root}/"))
                || path.starts_with(&format!("{root}?"))
        })
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_nongsan")
}

/// Runs `nongsan admin create` with the password on standard input; returns its output.
pub fn create_admin_with_cli(
    database_url: &str,
    email: &str,
    password: &str,
) -> Result<String, String> {
    use std::io::Write;
    let mut child = Command::new(binary())
        .args([
            "admin",
            "create",
            "--email",
            email,
            "--full-name",
            "Quản trị viên",
        ])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nongsan");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write password");
    let output = child.wait_with_output().expect("nongsan finished");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The real binary serving on a random port; killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub address: String,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    pub fn start(database_url: &str) -> ServerProcess {
        Self::start_with_index(database_url, "")
    }

    /// With its catalogue index in `index_dir` ("": in memory).
    pub fn start_with_index(database_url: &str, index_dir: &str) -> ServerProcess {
        let mut child = Command::new(binary())
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .env("NONGSAN__LOG__FORMAT", "json")
            .env("NONGSAN__CATALOGUE__INDEX_DIR", index_dir)
            .env("NONGSAN__DATABASE__POOL_SIZE", "4")
            .env("NONGSAN__AUTH__REGISTRATIONS_PER_ADDRESS", "1000000")
            .env("NONGSAN__AUTH__HASH_QUEUE_TIMEOUT", "60s")
            .env(
                "NONGSAN__PAYMENTS__MAX_UNPAID_TRANSFERS_PER_BUYER",
                "1000000",
            )
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nongsan serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && event["message"] == "listening"
                {
                    let _ = port_tx.send(event["port"].as_u64().unwrap_or(0));
                }
                sink.lock().unwrap().push(line);
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("server did not start: {:?}", log.lock().unwrap()));
        ServerProcess {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("server exit")
    }
}

impl ServerProcess {
    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the log has a line with this message.
    pub fn logged(&self, message: &str) -> bool {
        self.log.lock().unwrap().iter().any(|line| {
            serde_json::from_str::<Value>(line).is_ok_and(|event| event["message"] == message)
        })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builders for households and products, so tests state only what they are about.
impl TestApp {
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::DELETE, path, token, None).await
    }

    /// Creates a household in `province_code` for the farmer behind `token`; returns it.
    pub async fn household(&self, token: &str, name: &str, province_code: &str) -> Value {
        let answer = self
            .post(
                "/households",
                Some(token),
                json!({"name": name, "province_code": province_code}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.json()
    }

    /// Creates a product; `fields` override the defaults (a 1 kg fruit at 30,000 đồng, 100 in stock).
    pub async fn product(&self, token: &str, household_id: &str, fields: Value) -> Value {
        let answer = self
            .post("/products", Some(token), product_body(household_id, fields))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.json()
    }

    /// The ids of a listing's items, in order.
    pub async fn listed_ids(&self, path: &str, token: Option<&str>) -> Vec<String> {
        let answer = self.get(path, token).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        ids(&answer.json()["items"])
    }
}

pub fn product_body(household_id: &str, fields: Value) -> Value {
    let mut body = json!({
        "household_id": household_id, "name": "Vải thiều Lục Ngạn", "category": "fruit", "unit": "kg",
        "unit_weight_grams": 1000, "price_vnd": 30000, "stock_quantity": 100
    });
    for (key, value) in fields.as_object().expect("an object") {
        body[key] = value.clone();
    }
    body
}

pub fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| item["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Waits (bounded) until `check` holds; for effects written in the background.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

/// A shipping block for orders; `country_code` VN unless said otherwise.
pub fn shipping(country_code: &str) -> Value {
    json!({"recipient_name": "Trần Thị Hoa", "phone": "0987 654 321",
           "address": "12 Lê Lợi, Quận 1", "province_code": "79", "country_code": country_code})
}

impl TestApp {
    /// POST /orders with optional Idempotency-Key.
    pub async fn place_order(&self, token: &str, items: Value, key: Option<&str>) -> Answer {
        place_order_at(
            &self.client,
            &self.address,
            token,
            json!({"items": items, "shipping": shipping("VN")}),
            key,
        )
        .await
    }

    /// A farmer with one household and one product of `stock` units; returns (farmer token, household id, product id).
    pub async fn seller_with_product(&self, stock: i64, fields: Value) -> (String, String, String) {
        let farmer = self.signed_in("farmer").await;
        let household = self.household(&farmer, "Hộ ông Hùng", "24").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut fields = fields;
        fields["stock_quantity"] = json!(stock);
        let product = self.product(&farmer, &household, fields).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (farmer, household, product)
    }

    /// `nongsan ledger check` on this server's database: every entry balances and every
    /// balance is the sum of its lines.
    pub fn assert_ledger_balances(&self) {
        let check = std::process::Command::new(binary())
            .args(["ledger", "check", "--database-url", &self.database.url])
            .env("RUST_LOG", "warn")
            .output()
            .expect("run nongsan");
        assert!(
            check.status.success(),
            "the ledger does not balance: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }

    pub async fn stock_of(&self, token: &str, product_id: &str) -> i64 {
        let product = self
            .get(&format!("/products/{product_id}"), Some(token))
            .await;
        assert_eq!(product.status, 200, "{}", product.text);
        product.json()["stock_quantity"].as_i64().unwrap()
    }
}

/// POST /orders against any server address (for tests with several servers).
pub async fn place_order_at(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    body: Value,
    key: Option<&str>,
) -> Answer {
    let mut request = client
        .post(format!("{address}/api/v1/orders"))
        .bearer_auth(token)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    send(request).await
}

/// Registers `count` buyers at once and returns their tokens.
pub async fn buyers(app: &TestApp, count: usize) -> Vec<String> {
    let mut tokens = Vec::with_capacity(count);
    let mut pending = Vec::new();
    for _ in 0..count {
        pending.push(app.signed_in("buyer"));
    }
    for token in futures_util::future::join_all(pending).await {
        tokens.push(token);
    }
    tokens
}

impl TestApp {
    /// POST /admin/imports with an NDJSON body.
    pub async fn import(&self, token: &str, body: impl Into<reqwest::Body>) -> Answer {
        send(
            self.client
                .post(self.url("/admin/imports"))
                .bearer_auth(token)
                .header("content-type", "application/x-ndjson")
                .body(body),
        )
        .await
    }

    /// `nongsan rebuild-rollups --check`: the stored statistics equal a recomputation from the rows.
    pub fn assert_rollups_exact(&self) {
        let check = Command::new(binary())
            .args([
                "rebuild-rollups",
                "--check",
                "--database-url",
                &self.database.url,
            ])
            .env("RUST_LOG", "warn")
            .output()
            .expect("run nongsan");
        assert!(
            check.status.success(),
            "rollups drifted from the rows: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

/// One NDJSON line per value.
pub fn ndjson_lines(lines: &[Value]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// The `id` of an answer.
pub fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}
