//! Account rules: who may register as what, password checks, tokens.

use std::net::IpAddr;

use super::hashing::HashPool;
use super::model::{AccountInput, AccountStatus, Role, Session};
use super::repo::{self, NewAuthToken, User};
use super::throttle::{LoginThrottle, RegistrationThrottle};
use super::{password, token};
use crate::config::AuthSettings;
use crate::context::Context;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::ids::UserId;
use crate::time::now_utc;
use crate::validate::{self, EMAIL_MAX_CHARS, NAME_MAX_CHARS, Problems};
use chrono::Duration;

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// The signed-in caller, as handlers and services see it.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: UserId,
    pub role: Role,
    pub user: User,
    /// Hash of the token this request came with (for logout).
    pub token_hash: String,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

fn check_password(problems: &mut Problems, password: &str) {
    let length = password.chars().count();
    if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&length) {
        problems.add("password", "must be between 8 and 128 characters");
    }
}

/// A validated new account, ready to hash and store.
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub full_name: String,
    pub role: Role,
    pub phone: Option<String>,
}

impl NewAccount {
    /// Checks every field and reports all problems at once. `allow_admin` is for the command line.
    pub fn parse(input: AccountInput<'_>, allow_admin: bool) -> AppResult<NewAccount> {
        let mut problems = Problems::new();
        let email = problems.check(validate::email("email", input.email));
        check_password(&mut problems, input.password);
        let full_name = problems.check(validate::required_text(
            "full_name",
            input.full_name,
            NAME_MAX_CHARS,
        ));
        let role = match Role::parse(input.role) {
            Some(Role::Admin) if !allow_admin => {
                problems.add(
                    "role",
                    "admins are created with the command line; choose farmer or buyer",
                );
                None
            }
            Some(role) => Some(role),
            None => {
                problems.add("role", "must be farmer or buyer");
                None
            }
        };
        let phone = problems.check(validate::optional_phone("phone", input.phone));
        problems.finish()?;
        match (email, full_name, role, phone) {
            (Some(email), Some(full_name), Some(role), Some(phone)) => Ok(NewAccount {
                email,
                password: input.password.to_owned(),
                full_name,
                role,
                phone,
            }),
            _ => unreachable!("every missing value recorded a problem"),
        }
    }

    fn into_user(self, password_hash: String) -> User {
        User {
            id: UserId::generate(),
            email_key: self.email.to_lowercase(),
            email: self.email,
            password_hash,
            full_name: self.full_name,
            role: self.role,
            phone: self.phone,
            created_at: now_utc(),
            status: AccountStatus::Active,
        }
    }
}

fn email_taken() -> AppError {
    AppError::conflict("email_taken", "an account with this email already exists")
        .with_field_errors(vec![crate::error::FieldError::new(
            "email",
            "is already registered",
        )])
}

/// Stores a new account; a taken email (checked case-insensitively by a unique key) is 409.
pub fn insert_account(
    conn: &mut DbConnection,
    account: NewAccount,
    password_hash: String,
) -> AppResult<User> {
    let user = account.into_user(password_hash);
    match repo::insert_user(conn, &user).map_err(AppError::from) {
        Ok(()) => Ok(user),
        Err(error) if error.is_already_exists() => Err(email_taken()),
        Err(other) => Err(other),
    }
}

/// What stands between clients and the passwords: the throttles and the hashing threads.
pub struct Guards {
    pub logins: LoginThrottle,
    pub registrations: RegistrationThrottle,
    /// Password hashing, on threads of its own (see [`HashPool`]).
    pub hashing: HashPool,
}

impl Guards {
    pub fn new(settings: &AuthSettings) -> std::io::Result<Guards> {
        Ok(Guards {
            logins: LoginThrottle::new(settings),
            registrations: RegistrationThrottle::new(settings),
            hashing: HashPool::new(settings.hash_threads, settings.hash_queue_timeout)?,
        })
    }

    /// Lets the throttles forget what has ended.
    pub fn prune(&self) {
        self.logins.prune();
        self.registrations.prune();
    }
}

pub async fn register(
    ctx: &Context,
    guards: &Guards,
    input: AccountInput<'_>,
    address: Option<IpAddr>,
) -> AppResult<User> {
    let account = NewAccount::parse(input, false)?;
    guards.registrations.check(address)?;
    let email_key = account.email.to_lowercase();
    // Cheap check first so that a taken email costs no Argon2 work; the unique key still decides races.
    let exists = ctx
        .db
        .run(move |conn| Ok(repo::find_user_by_email_key(conn, &email_key)?.is_some()))
        .await?;
    if exists {
        return Err(email_taken());
    }
    let plain = account.password.clone();
    let password_hash = guards.hashing.run(move || password::hash(&plain)).await??;
    ctx.db
        .write(move |conn| insert_account(conn, account, password_hash))
        .await
}

fn invalid_credentials() -> AppError {
    AppError::not_authenticated("invalid_credentials", "the email or the password is wrong")
}

pub async fn login(
    ctx: &Context,
    guards: &Guards,
    email: &str,
    password: String,
    address: Option<IpAddr>,
) -> AppResult<Session> {
    // No address can register more than 254 characters, and none may grow the throttle's memory.
    if email.trim().chars().count() > EMAIL_MAX_CHARS {
        return Err(AppError::invalid_field(
            "email",
            "must be at most 254 characters",
        ));
    }
    let email_key = email.trim().to_lowercase();
    // Held until the failure, if any, is counted (see `throttle`).
    let _attempt = guards.logins.check(&email_key, address)?;
    let lookup_key = email_key.clone();
    let user = ctx
        .db
        .run(move |conn| Ok(repo::find_user_by_email_key(conn, &lookup_key)?))
        .await?;
    let plain = password;
    let verified = guards
        .hashing
        .run(move || match user {
            Some(user) if password::verify(&plain, &user.password_hash) => Some(user),
            Some(_) => None,
            None => {
                password::verify_against_dummy(&plain);
                None
            }
        })
        .await?;
    let Some(user) = verified else {
        crate::metrics::record_login_failure();
        guards.logins.record_failure(&email_key, address)?;
        return Err(invalid_credentials());
    };
    // Told only after a right password, so suspension reveals nothing about a guess.
    if user.status != AccountStatus::Active {
        return Err(AppError::refused(
            "account_suspended",
            "this account is suspended",
        ));
    }

    let token = token::generate();
    let now = now_utc();
    let ttl = Duration::from_std(ctx.settings.auth.token_ttl).unwrap_or(Duration::days(30));
    let record = NewAuthToken {
        token_hash: token::hash(&token),
        user_id: user.id,
        created_at: now,
        expires_at: now + ttl,
    };
    let expires_at = record.expires_at;
    let keep = ctx.settings.auth.max_tokens_per_user as usize;
    ctx.db
        .write(move |conn| {
            repo::delete_expired_tokens(conn, &record.user_id, now)?;
            repo::insert_token(conn, &record)?;
            repo::revoke_tokens_beyond(conn, &record.user_id, &record.token_hash, keep)?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(Session {
        token,
        expires_at,
        user,
    })
}

pub async fn logout(ctx: &Context, caller: &CurrentUser) -> AppResult<()> {
    let token_hash = caller.token_hash.clone();
    ctx.db
        .write(move |conn| Ok::<_, AppError>(repo::delete_token(conn, &token_hash)?))
        .await?;
    Ok(())
}

/// The caller behind a bearer token: unknown, expired or revoked tokens are 401.
pub async fn authenticate(ctx: &Context, bearer: &str) -> AppResult<CurrentUser> {
    if !token::looks_valid(bearer) {
        return Err(AppError::unauthenticated("the token is not valid"));
    }
    let token_hash = token::hash(bearer);
    let lookup = token_hash.clone();
    let user = ctx
        .db
        .run(move |conn| Ok(repo::find_token_user(conn, &lookup, now_utc())?))
        .await?
        .ok_or_else(|| AppError::unauthenticated("the token is unknown, expired or revoked"))?;
    // Suspension deletes the tokens; this also covers a login that raced with it.
    if user.status != AccountStatus::Active {
        return Err(AppError::unauthenticated("the account is suspended"));
    }
    Ok(CurrentUser {
        id: user.id,
        role: user.role,
        user,
        token_hash,
    })
}

/// `PATCH /admin/users/{id}`: `{"status": "active" | "suspended"}`.
/// Deletes every expired token (the maintenance task; logins also clear their own account's).
pub async fn purge_expired_tokens(ctx: &Context) -> AppResult<usize> {
    ctx.db
        .run(|conn| Ok(repo::delete_all_expired_tokens(conn, now_utc())?))
        .await
}
