//! A small seedable random source for the probe's random fields (IP ID, ports, sequence numbers).
//!
//! SplitMix64 is enough here: the values only need to be unpredictable per run and reproducible
//! with `--seed`; they are not security sensitive, so a dependency would buy nothing.

use std::time::{SystemTime, UNIX_EPOCH};

/// SplitMix64 generator (Steele, Lea & Flood 2014).
#[derive(Clone, Debug)]
pub struct ProbeRng {
    state: u64,
}

impl ProbeRng {
    /// A generator that yields the same sequence for the same seed.
    pub fn from_seed(seed: u64) -> ProbeRng {
        ProbeRng { state: seed }
    }

    /// A generator seeded from the OS entropy pool (falling back to the clock and PID).
    pub fn from_entropy() -> ProbeRng {
        let mut buf = [0u8; 8];
        let seeded =
            std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf)).is_ok();
        let seed = if seeded {
            u64::from_le_bytes(buf)
        } else {
            let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
            t ^ ((std::process::id() as u64) << 32)
        };
        ProbeRng::from_seed(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniformly drawn value in `lo..=hi` (`lo <= hi`).
    pub fn range_u32(&mut self, lo: u32, hi: u32) -> u32 {
        let span = u64::from(hi - lo) + 1;
        lo + (self.next_u64() % span) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_in_range() {
        let mut a = ProbeRng::from_seed(42);
        let mut b = ProbeRng::from_seed(42);
        for _ in 0..100 {
            let x = a.range_u32(1, 0xfffff);
            assert_eq!(x, b.range_u32(1, 0xfffff));
            assert!((1..=0xfffff).contains(&x));
        }
    }
}
