//! Lenient mode: bad lines are skipped and reported, the rest of the body survives.

use rockscope_promtext::{Diagnostics, ErrorKind, Mode, Parser};

use crate::{fixture, lenient, strict};

#[test]
fn garbage_lines_in_a_real_body_cost_only_themselves() {
    let body = fixture("starrocks-be-3.3.txt");
    let good = strict(&body).unwrap();
    let garbage = [
        "this is not a metric",
        "starrocks_be_broken{mode=\"user\" 12",
        "<html><body>502 Bad Gateway</body></html>",
        "starrocks_be_bad_value 12abc",
        "# TYPE starrocks_be_cpu gauge",
    ];
    let mut damaged = String::new();
    let mut expected_lines = Vec::new();
    let mut line_no = 0;
    for (i, line) in body.lines().enumerate() {
        if i % 7 == 3 {
            let g = garbage[(i / 7) % garbage.len()];
            damaged.push_str(g);
            damaged.push('\n');
            line_no += 1;
            expected_lines.push(line_no);
        }
        damaged.push_str(line);
        damaged.push('\n');
        line_no += 1;
    }
    let (samples, errors) = lenient(damaged.as_bytes());
    assert_eq!(samples.len(), good.len());
    for (a, b) in samples.iter().zip(&good) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.labels, b.labels);
        assert!(a.value == b.value || (a.value.is_nan() && b.value.is_nan()));
    }
    let error_lines: Vec<_> = errors.iter().map(|e| e.line).collect();
    assert_eq!(error_lines, expected_lines);
    assert!(strict(&damaged).is_err());
}

#[test]
fn diagnostics_count_all_and_keep_the_first_few() {
    let mut body = String::new();
    for i in 0..25 {
        body.push_str(&format!("good_{i} {i}\nbad_{i} x\n"));
    }
    let mut parser = Parser::new(body.as_bytes(), Mode::Lenient);
    let ok = parser.by_ref().filter(|item| item.is_ok()).count();
    assert_eq!(ok, 25);
    let d = parser.diagnostics();
    assert_eq!(d.skipped_lines, 25);
    assert_eq!(d.first_errors.len(), Diagnostics::KEPT_ERRORS);
    assert_eq!(d.first_errors[0].line, 2);
    assert_eq!(d.first_errors[0].kind, ErrorKind::InvalidValue);
}

#[test]
fn a_cut_last_line_is_skipped_not_misread() {
    // A truncated body ends mid-number: the partial value must not be taken as the value.
    let (samples, errors) = lenient(b"a 1\nb 12345");
    assert_eq!(samples.len(), 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, ErrorKind::MissingFinalNewline);
}

#[test]
fn binary_garbage_never_fails_the_whole_body() {
    let mut body = b"up 1\n".to_vec();
    body.extend((0u8..=255).cycle().take(4096));
    body.extend_from_slice(b"\nafter 2\n");
    let (samples, errors) = lenient(&body);
    assert_eq!(samples.first().map(|s| s.name.as_str()), Some("up"));
    assert_eq!(samples.last().map(|s| s.name.as_str()), Some("after"));
    assert!(!errors.is_empty());
}

#[test]
fn a_rejected_line_does_not_lend_its_name_to_the_next_family_lookup() {
    // `foo{x="1" 2` is rejected after its name was read; the `foo` sample that follows must
    // still get its own (untyped) family, not the counter `bar` looked up last.
    let body = b"# TYPE bar counter\nbar 1\nfoo{x=\"1\" 2\nfoo 3\n# TYPE baz gauge\nbaz 4\nbaz 5\n";
    let mut parser = Parser::new(body, Mode::Lenient);
    let families: Vec<(String, String)> = parser
        .by_ref()
        .filter_map(Result::ok)
        .map(|s| (s.name.to_owned(), s.family.to_owned()))
        .collect();
    assert_eq!(
        families,
        [
            ("bar", "bar"),
            ("foo", "foo"),
            ("baz", "baz"),
            ("baz", "baz")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(parser.diagnostics().skipped_lines, 1);
    assert!(
        parser
            .family("foo")
            .is_some_and(|f| f.metric_type.is_none())
    );
}
