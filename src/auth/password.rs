//! Argon2id password hashing with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
//! Both functions are CPU-heavy: the server calls them on its hashing threads (`HashPool`).
//!
//! Each thread keeps its 19 MiB of Argon2 memory for the next hash instead of allocating it
//! every time: freed, such blocks stayed in whichever malloc arena the thread had last used, and
//! a few threads hopping between arenas held hundreds of megabytes.

use std::cell::RefCell;
use std::sync::OnceLock;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};

fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters")
}

thread_local! {
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 with this thread's memory, grown (never shrunk) to what `params` need.
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let blocks = argon2.params().block_count();
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            *memory = vec![Block::new(); blocks];
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("hashing a password failed: {e}");
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| fail(&e))?;
    let params = params();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon2, password.as_bytes(), salt_bytes, &mut out).map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// True when `password` matches the stored PHC string; a malformed stored hash never matches.
pub fn verify(password: &str, stored_hash: &str) -> bool {
    let check = || -> Option<bool> {
        let parsed = PasswordHash::new(stored_hash).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()
            .ok()?
            .unwrap_or_default();
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = parsed.salt?.decode_b64(&mut salt_bytes).ok()?;
        let argon2 = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        compute(&argon2, password.as_bytes(), salt_bytes, &mut out).ok()?;
        // Output's equality is constant-time.
        Some(Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

/// Spends the same work as a real check, so an unknown email cannot be told from a wrong
/// password by timing.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("nongsan-dummy-password").unwrap_or_default());
    let _ = verify(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let stored = hash("mật khẩu an toàn").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("mật khẩu an toàn", &stored));
        assert!(!verify("mat khau an toan", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_phc_functions() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let stock = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let ours = hash("mật khẩu an toàn").unwrap();
        assert!(
            stock
                .verify_password(
                    "mật khẩu an toàn".as_bytes(),
                    &PasswordHash::new(&ours).unwrap()
                )
                .is_ok()
        );
        let salt = SaltString::generate(&mut OsRng);
        let theirs = stock
            .hash_password(b"another-password", &salt)
            .unwrap()
            .to_string();
        assert!(verify("another-password", &theirs));
        assert!(!verify("another-passwore", &theirs));
        // Other parameters (an older hash) are read from the stored string.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        );
        let older = small
            .hash_password(b"old-password", &salt)
            .unwrap()
            .to_string();
        assert!(verify("old-password", &older));
    }
}
