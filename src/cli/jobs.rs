//! The `-j N` worker-thread count of `extract` and `analyze`: at least 1, and lowered to
//! [`max_jobs`] (four per core) when larger, since more threads than that only cost memory
//! and start-up time (`-j 10000` used to stall starting threads).

/// Threads per core above which `-j` is lowered.
pub const JOBS_PER_CORE: usize = 4;

/// The largest `-j` used: [`JOBS_PER_CORE`] per core.
pub fn max_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) * JOBS_PER_CORE
}

/// Parses `-j`: a positive number, lowered to [`max_jobs`].
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    let n: usize = s.trim().parse().map_err(|_| format!("{s:?} is not a number of threads"))?;
    if n == 0 {
        return Err("the number of threads must be at least 1".into());
    }
    Ok(n.min(max_jobs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamped_and_checked() {
        assert_eq!(parse_jobs("1"), Ok(1));
        assert_eq!(parse_jobs("10000"), Ok(max_jobs()));
        assert!(parse_jobs("0").is_err());
        assert!(parse_jobs("-3").is_err());
        assert!(parse_jobs("a lot").is_err());
    }
}
