//! Parsing allocates nothing per sample on input without escapes: the number of allocations
//! depends on the number of families, not on the number of samples.
//!
//! A separate test binary, because it installs a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use rockscope_promtext::{Mode, Parser};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwards the caller's layout unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn body(samples_per_family: usize) -> String {
    let mut body = String::new();
    for family in 0..20 {
        body.push_str(&format!("# TYPE starrocks_be_family_{family} counter\n"));
        for i in 0..samples_per_family {
            body.push_str(&format!(
                "starrocks_be_family_{family}{{db_name=\"db\",table_id=\"{i}\",type=\"x\"}} {i}.5\n"
            ));
        }
    }
    body
}

fn allocations_while_parsing(input: &str) -> (usize, usize) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut samples = 0;
    let mut label_bytes = 0;
    for sample in Parser::new(input.as_bytes(), Mode::Strict) {
        let sample = sample.expect("valid body");
        samples += 1;
        label_bytes += sample
            .labels()
            .map(|(n, v)| n.len() + v.len())
            .sum::<usize>();
    }
    assert!(label_bytes > 0);
    (ALLOCATIONS.load(Ordering::Relaxed) - before, samples)
}

#[test]
fn allocations_do_not_grow_with_samples() {
    let small = body(10);
    let large = body(5_000);
    // The first parse of the process also seeds the family index's hasher once; not per parse.
    allocations_while_parsing(&small);
    let (small_allocs, small_samples) = allocations_while_parsing(&small);
    let (large_allocs, large_samples) = allocations_while_parsing(&large);
    assert_eq!(small_samples, 200);
    assert_eq!(large_samples, 100_000);
    assert_eq!(
        small_allocs, large_allocs,
        "500x the samples must not change the allocation count"
    );
}
