//! What glibc's allocator does by default that a long-running server with many threads must
//! correct: it keeps what threads free for their own later use.

/// At most this many malloc arenas (see [`limit_malloc_arenas`]).
const MALLOC_ARENAS: i32 = 2;

/// glibc gives a thread that finds the other arenas busy an arena of its own, up to eight per
/// core, and keeps what is freed in an arena for that arena's threads. Under 32 connections
/// placing orders, the threads that run queries had taken 16 arenas, each holding tens of
/// megabytes freed and never given back: the server peaked at 345 MB. With two arenas it
/// peaked at 135 MB, at the same orders per second (bench row 5, BENCHMARKS.md). Called before
/// any thread starts; an operator's own `MALLOC_ARENA_MAX` stands.
pub fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a number in glibc's own allocator state.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
    }
}

/// Gives memory freed in bulk (the catalogue build's writer: 50 MB of arenas and batches of
/// rows) back to the system, which glibc would otherwise keep for the threads that freed it.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists; it takes no pointer of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}
