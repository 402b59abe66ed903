//! Randomly damaged input (a stable-toolchain stand-in for the fuzzer, run on every test):
//! no panic, and the modes stay consistent with each other.

use crate::{fixture, lenient, strict};

/// A small deterministic generator (xorshift64*), so failures reproduce from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const INTERESTING: &[u8] = b" \t\n\\\"{}=,#.-+eE0123456789_:aZNIf\xff\xc3";

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut input = base.to_vec();
    for _ in 0..=rng.below(8) {
        if input.is_empty() {
            input.push(b'a');
        }
        let at = rng.below(input.len());
        match rng.below(4) {
            0 => input[at] = INTERESTING[rng.below(INTERESTING.len())],
            1 => input.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 => {
                input.remove(at);
            }
            _ => input.truncate(at),
        }
    }
    input
}

#[test]
fn mutated_bodies_never_panic_and_modes_agree() {
    let bases = [
        fixture("starrocks-fe-leader-3.3.txt"),
        fixture("starrocks-be-3.3.txt"),
        "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_sum 2 -5\nh_count 3\n".to_owned(),
        "m{a=\"x\\\\y\",b=\"\\\"\"} NaN 123\n".to_owned(),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let base = &bases[round % bases.len()];
        let input = mutate(&mut rng, base.as_bytes());
        let (samples, errors) = lenient(&input);
        let lines = input.split(|&b| b == b'\n').count();
        assert!(samples.len() + errors.len() <= lines, "round {round}");
        for e in &errors {
            assert!(
                e.line >= 1 && e.line <= lines && e.column >= 1,
                "round {round}: {e}"
            );
        }
        if let Ok(text) = std::str::from_utf8(&input) {
            match strict(text) {
                // Valid input: lenient saw exactly the same samples and no error.
                Ok(all) => {
                    assert!(errors.is_empty(), "round {round}");
                    assert_eq!(all.len(), samples.len(), "round {round}");
                }
                // Invalid input: strict reports lenient's first error.
                Err(e) => assert_eq!(Some(&e), errors.first(), "round {round}"),
            }
        }
    }
}
