//! Deterministic pseudo-randomness and load curves.
//!
//! Every counter the simulator serves is `floor(base × ∫ curve(t) dt)` over the node's lifetime,
//! where `curve` is a sum of sinusoids (a daily UTC cycle plus seeded "noise" waves). Sums of
//! sinusoids have closed-form integrals, so a counter at any instant costs O(1), is a pure
//! function of (seed, node, time), and only ever grows (the curve stays strictly positive).
//! That is what lets [`crate::GroundTruth`] report the exact rates the endpoints serve.

use std::f64::consts::TAU;

/// Nanoseconds per second.
pub(crate) const NS: i64 = 1_000_000_000;
/// Seconds per day.
const DAY_S: i64 = 86_400;

/// SplitMix64 finaliser: a cheap, well-mixed 64-bit hash step.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a string into a seed (FNV-1a, then mixed), for per-name variety.
pub(crate) fn hash_str(seed: u64, s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// Maps a hash to `[0, 1)`.
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Small deterministic generator (SplitMix64 stream) used to derive node parameters.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(mix(seed))
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in `[lo, hi)`.
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * unit(self.next_u64())
    }
    /// Uniform integer in `[lo, hi]`.
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }
    /// One element of a slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

/// One sinusoid: `amp × sin(2π (t mod period)/period + phase)`.
#[derive(Clone, Copy, Debug)]
struct Wave {
    period_ns: i64,
    amp: f64,
    phase: f64,
}

impl Wave {
    fn angle(&self, t: i64) -> f64 {
        // Reduce in integers first so absolute epoch nanoseconds lose no precision.
        TAU * (t.rem_euclid(self.period_ns) as f64 / self.period_ns as f64) + self.phase
    }
}

/// A strictly positive load factor around 1.0: a daily cycle plus three seeded noise waves.
#[derive(Clone, Debug)]
pub(crate) struct Curve {
    waves: [Wave; 4],
}

impl Curve {
    /// `daily_amp + noise_amp` must stay below 1 so the factor is always positive.
    /// `peak_hour` is the UTC hour of the daily maximum.
    pub(crate) fn new(rng: &mut Rng, peak_hour: f64, daily_amp: f64, noise_amp: f64) -> Curve {
        debug_assert!(daily_amp + noise_amp < 0.95);
        // sin is maximal at π/2: choose the phase so that happens at `peak_hour`.
        let daily = Wave {
            period_ns: DAY_S * NS,
            amp: daily_amp,
            phase: TAU / 4.0 - TAU * peak_hour / 24.0,
        };
        let mut waves = [daily; 4];
        // Noise: incommensurate periods between ~3 and ~97 minutes, amplitudes splitting noise_amp.
        let shares = [0.5, 0.3, 0.2];
        for (i, w) in waves.iter_mut().skip(1).enumerate() {
            let (lo, hi) = [(180, 600), (700, 2400), (2500, 5800)][i];
            *w = Wave {
                period_ns: rng.int(lo, hi) * NS,
                amp: noise_amp * shares[i],
                phase: rng.range(0.0, TAU),
            };
        }
        Curve { waves }
    }

    /// The factor at instant `t` (ns since the Unix epoch).
    pub(crate) fn factor(&self, t: i64) -> f64 {
        1.0 + self
            .waves
            .iter()
            .map(|w| w.amp * w.angle(t).sin())
            .sum::<f64>()
    }

    /// `∫_a^b factor(t) dt` in seconds (0 when `b <= a`).
    pub(crate) fn integral(&self, a: i64, b: i64) -> f64 {
        if b <= a {
            return 0.0;
        }
        let mut s = (b - a) as f64 / NS as f64;
        for w in &self.waves {
            let p = w.period_ns as f64 / NS as f64;
            s += w.amp * p / TAU * (w.angle(a).cos() - w.angle(b).cos());
        }
        s.max(0.0)
    }
}

/// A rate `base × curve(t)` per second, integrated into counters.
#[derive(Clone, Debug)]
pub(crate) struct Rate {
    pub(crate) base: f64,
    pub(crate) curve: Curve,
}

impl Rate {
    pub(crate) fn new(base: f64, curve: Curve) -> Rate {
        Rate { base, curve }
    }
    /// Units accumulated over `[a, b]`.
    pub(crate) fn amount(&self, a: i64, b: i64) -> f64 {
        self.base * self.curve.integral(a, b)
    }
    /// Instantaneous rate per second.
    pub(crate) fn at(&self, t: i64) -> f64 {
        self.base * self.curve.factor(t)
    }
}

/// A deterministic value in `[0, 1)` that changes every `step_ns` (for gauges that jump).
pub(crate) fn step_noise(seed: u64, t: i64, step_ns: i64) -> f64 {
    unit(mix(seed
        ^ (t.div_euclid(step_ns) as u64)
            .wrapping_mul(0x2545_F491_4F6C_DD1D)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_matches_numeric_and_is_monotonic() {
        let mut rng = Rng::new(7);
        let c = Curve::new(&mut rng, 14.0, 0.5, 0.3);
        let t0 = 1_700_000_000 * NS;
        let mut numeric = 0.0;
        let step = NS / 10;
        let mut prev = 0.0;
        for i in 0..36_000 {
            let t = t0 + i * step;
            numeric += c.factor(t + step / 2) * 0.1;
            let exact = c.integral(t0, t + step);
            assert!(exact >= prev);
            prev = exact;
        }
        let exact = c.integral(t0, t0 + 36_000 * step);
        assert!(
            (exact - numeric).abs() / exact < 1e-6,
            "{exact} vs {numeric}"
        );
        for i in 0..1000 {
            assert!(c.factor(t0 + i * 97 * NS) > 0.1);
        }
    }

    #[test]
    fn daily_peak_is_at_requested_hour() {
        let mut rng = Rng::new(1);
        let c = Curve::new(&mut rng, 14.0, 0.6, 0.0);
        let day0 = 19_000 * DAY_S * NS;
        assert!(c.factor(day0 + 14 * 3600 * NS) > 1.59);
        assert!(c.factor(day0 + 2 * 3600 * NS) < 0.41);
    }
}
