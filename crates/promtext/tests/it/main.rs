//! Black-box tests of rockscope-promtext: the spec's rules in strict mode, real StarRocks bodies,
//! lenient recovery, and randomly damaged input.

mod lenient;
mod random;
mod starrocks;
mod strict;

use rockscope_promtext::{Error, Mode, Parser};

/// A sample reduced to owned values, for comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct Owned {
    pub name: String,
    pub family: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// Parses in strict mode, returning every sample or the first error.
pub fn strict(input: &str) -> Result<Vec<Owned>, Error> {
    Parser::new(input.as_bytes(), Mode::Strict)
        .map(|item| item.map(own))
        .collect()
}

/// Parses in lenient mode, returning the samples and the errors.
pub fn lenient(input: &[u8]) -> (Vec<Owned>, Vec<Error>) {
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for item in Parser::new(input, Mode::Lenient) {
        match item {
            Ok(s) => samples.push(own(s)),
            Err(e) => errors.push(e),
        }
    }
    (samples, errors)
}

fn own(s: rockscope_promtext::Sample<'_>) -> Owned {
    Owned {
        name: s.name.to_owned(),
        family: s.family.to_owned(),
        labels: s
            .labels()
            .map(|(n, v)| (n.to_owned(), v.into_owned()))
            .collect(),
        value: s.value,
        timestamp_ms: s.timestamp_ms,
    }
}

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
