//! Sharded collection: which of `n` instances collects a cluster, by the cluster's name.
//!
//! `collector.shard = "i/n"` makes an instance collect only the clusters it owns. Ownership is
//! rendezvous (highest-random-weight) hashing: every shard `s` in `1..=n` gets a weight
//! `hash(name, s)`, and the shard with the highest weight owns the cluster. So `n` instances
//! given the same cluster list divide it with no overlap and no gap, without talking to each
//! other; and going from `n` to `n + 1` instances moves only the clusters whose new highest
//! weight is shard `n + 1`'s (about one in `n + 1`), each to the new shard.
//!
//! The hash must give the same answer in every build, process and platform, or two instances
//! would disagree: std's `DefaultHasher` is randomly keyed per process, so the weight is
//! FNV-1a 64 over the name's UTF-8 bytes and the shard number (4 bytes, little-endian),
//! mixed by splitmix64's finalizer (FNV-1a alone mixes its last bytes poorly, and those are
//! the shard number). Both are a few published lines with fixed constants, written out here.
//!
//! Pure: no I/O, no clock.

use std::fmt;

/// The most instances a fleet may be split into.
pub const MAX_SHARDS: u32 = 1024;

/// One instance's share: shard `index` of `count`, `1 <= index <= count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a shard setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not two whole numbers around a `/`.
    #[error(
        "expected \"i/n\": this instance's number i and the number of instances n, whole \
         numbers with 1 <= i <= n, e.g. \"1/3\""
    )]
    Form,
    /// `n` outside `1..=MAX_SHARDS`.
    #[error("n (the number of instances) must be from 1 to {MAX_SHARDS}, not {0}")]
    Count(u32),
    /// `i` outside `1..=n`.
    #[error("i (this instance's number) must be from 1 to n = {count}, not {index}")]
    Index {
        /// The `i` given.
        index: u32,
        /// The `n` given.
        count: u32,
    },
}

impl Shard {
    /// Shard `index` of `count`, checked.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if !(1..=MAX_SHARDS).contains(&count) {
            return Err(ShardError::Count(count));
        }
        if !(1..=count).contains(&index) {
            return Err(ShardError::Index { index, count });
        }
        Ok(Shard { index, count })
    }

    /// Parses `"i/n"` (spaces around either number allowed).
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let (index, count) = text.split_once('/').ok_or(ShardError::Form)?;
        Shard::new(whole_number(index)?, whole_number(count)?)
    }

    /// This instance's number, from 1.
    pub fn index(self) -> u32 {
        self.index
    }

    /// The number of instances.
    pub fn count(self) -> u32 {
        self.count
    }

    /// The shard (1 to [`Shard::count`]) that owns the cluster named `name`.
    pub fn owner_of(self, name: &str) -> u32 {
        owner(name, self.count)
    }

    /// Whether this shard owns the cluster named `name`.
    pub fn owns(self, name: &str) -> bool {
        self.owner_of(name) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Digits only (no sign, no `+`), as a `u32`.
fn whole_number(text: &str) -> Result<u32, ShardError> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ShardError::Form);
    }
    // Digits that overflow a u32 are out of range, not malformed.
    Ok(text.parse().unwrap_or(u32::MAX))
}

/// The shard in `1..=count` with the highest weight for `name`; a tie (never seen, but
/// possible) goes to the lower shard.
fn owner(name: &str, count: u32) -> u32 {
    let prefix = fnv1a(FNV_OFFSET, name.as_bytes());
    let mut best = (1, weight(prefix, 1));
    for shard in 2..=count {
        let w = weight(prefix, shard);
        if w > best.1 {
            best = (shard, w);
        }
    }
    best.0
}

/// The weight of `shard` for the name whose FNV-1a state is `prefix`.
fn weight(prefix: u64, shard: u32) -> u64 {
    splitmix64_finalize(fnv1a(prefix, &shard.to_le_bytes()))
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64, continuing from `state`.
fn fnv1a(mut state: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        state ^= u64::from(b);
        state = state.wrapping_mul(FNV_PRIME);
    }
    state
}

/// splitmix64's output function (Steele, Lea, Flood 2014; Vigna's constants).
fn splitmix64_finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("cluster-{i:03}")).collect()
    }

    #[test]
    fn parses_i_of_n_and_refuses_the_rest() {
        assert_eq!(Shard::parse("1/3"), Ok(Shard { index: 1, count: 3 }));
        assert_eq!(
            Shard::parse(" 3 / 3 ").map(|s| s.to_string()),
            Ok("3/3".into())
        );
        assert_eq!(
            Shard::parse("1/1").map(|s| (s.index(), s.count())),
            Ok((1, 1))
        );
        assert_eq!(
            Shard::parse("4/3"),
            Err(ShardError::Index { index: 4, count: 3 })
        );
        assert_eq!(
            Shard::parse("0/3"),
            Err(ShardError::Index { index: 0, count: 3 })
        );
        assert_eq!(Shard::parse("1/0"), Err(ShardError::Count(0)));
        assert_eq!(Shard::parse("1/1025"), Err(ShardError::Count(1025)));
        assert_eq!(
            Shard::parse("1/99999999999"),
            Err(ShardError::Count(u32::MAX))
        );
        for bad in [
            "3", "a/b", "", "/", "1/", "/3", "-1/3", "+1/3", "1/3/5", "1.0/3", "1 /x",
        ] {
            assert_eq!(Shard::parse(bad), Err(ShardError::Form), "{bad:?}");
        }
        let message = ShardError::Index { index: 4, count: 3 }.to_string();
        assert!(message.contains("from 1 to n = 3, not 4"), "{message}");
    }

    #[test]
    fn every_name_has_exactly_one_owner_for_every_count() {
        let names = names(300);
        for count in 1..=8 {
            let shards: Vec<Shard> = (1..=count).map(|i| Shard::new(i, count).unwrap()).collect();
            for name in &names {
                let owners: Vec<u32> = shards
                    .iter()
                    .filter(|s| s.owns(name))
                    .map(|s| s.index())
                    .collect();
                assert_eq!(
                    owners.len(),
                    1,
                    "{name} with {count} shards: owners {owners:?}"
                );
                assert_eq!(owners[0], shards[0].owner_of(name));
            }
        }
    }

    #[test]
    fn adding_a_shard_moves_only_what_goes_to_the_new_one() {
        let names = names(600);
        for count in 1..8 {
            let before = Shard::new(1, count).unwrap();
            let after = Shard::new(1, count + 1).unwrap();
            let mut moved = 0;
            for name in &names {
                let (was, is) = (before.owner_of(name), after.owner_of(name));
                if was != is {
                    assert_eq!(
                        is,
                        count + 1,
                        "{name} moved from {was} to {is}, not the new shard"
                    );
                    moved += 1;
                }
            }
            // About 1/(n+1) of the names must move: the new shard's fair share, no more.
            let expected = names.len() as f64 / f64::from(count + 1);
            let moved = f64::from(moved);
            assert!(
                (0.75 * expected..=1.25 * expected).contains(&moved),
                "{count} -> {}: {moved} moved, about {expected} expected",
                count + 1
            );
        }
    }

    #[test]
    fn spread_is_even() {
        let names = names(2000);
        for count in 2..=8 {
            let shard = Shard::new(1, count).unwrap();
            let mut per_shard = vec![0u32; count as usize];
            for name in &names {
                per_shard[shard.owner_of(name) as usize - 1] += 1;
            }
            let mean = names.len() as f64 / f64::from(count);
            for (i, &n) in per_shard.iter().enumerate() {
                assert!(
                    (f64::from(n) - mean).abs() <= 0.15 * mean,
                    "{count} shards: shard {} owns {n}, mean {mean}: {per_shard:?}",
                    i + 1
                );
            }
        }
    }

    /// A regression pin: instances of different builds must agree on every owner, so the hash
    /// may never change silently. If this test fails, the assignment changed: every sharded
    /// fleet would collect some clusters twice and others not at all while its instances run
    /// different versions. Change these values only with a note in the release that says so.
    #[test]
    fn known_owners_never_change() {
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c); // FNV-1a 64's published vector
        let shard = Shard::new(1, 3).unwrap();
        let pinned: Vec<(&str, u32)> = ["prod", "staging", "analytics-eu", "cluster-000", "日本"]
            .iter()
            .map(|name| (*name, shard.owner_of(name)))
            .collect();
        assert_eq!(pinned, PINNED_OWNERS_OF_3);
        let eight = Shard::new(1, 8).unwrap();
        let pinned: Vec<u32> = (0..8)
            .map(|i| eight.owner_of(&format!("sim-{i}")))
            .collect();
        assert_eq!(pinned, PINNED_OWNERS_OF_8);
    }

    // Computed by an independent implementation (a few lines of Python) of the same definition.
    const PINNED_OWNERS_OF_3: [(&str, u32); 5] = [
        ("prod", 2),
        ("staging", 3),
        ("analytics-eu", 2),
        ("cluster-000", 2),
        ("日本", 1),
    ];
    const PINNED_OWNERS_OF_8: [u32; 8] = [6, 1, 6, 4, 4, 2, 5, 3];
}
