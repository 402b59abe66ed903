//! Strict mode against the rules of the text format spec and Prometheus' parsers.

use rockscope_promtext::{ErrorKind, MetricType, Mode, Parser};

use crate::strict;

/// Asserts that `input` is rejected at `line`, `column` for `kind`.
#[track_caller]
fn rejects(input: &str, line: usize, column: usize, kind: ErrorKind) {
    match strict(input) {
        Ok(samples) => panic!("accepted {input:?}: {samples:?}"),
        Err(e) => assert_eq!(
            (e.line, e.column, e.kind),
            (line, column, kind),
            "{input:?}"
        ),
    }
}

#[track_caller]
fn accepts(input: &str) -> Vec<crate::Owned> {
    strict(input).unwrap_or_else(|e| panic!("rejected {input:?}: {e}"))
}

#[test]
fn label_value_escapes_are_decoded_only_when_present() {
    let samples =
        accepts("m{a=\"x\\\\y\",b=\"say \\\"hi\\\"\",c=\"l1\\nl2\",d=\"t\\tz\",e=\"plain\"} 1\n");
    let labels = &samples[0].labels;
    assert_eq!(labels[0], ("a".into(), "x\\y".into()));
    assert_eq!(labels[1], ("b".into(), "say \"hi\"".into()));
    assert_eq!(labels[2], ("c".into(), "l1\nl2".into()));
    // Unknown escapes are kept verbatim, as Prometheus' parsers do.
    assert_eq!(labels[3], ("d".into(), "t\\tz".into()));
    assert_eq!(labels[4], ("e".into(), "plain".into()));
}

#[test]
fn special_values_and_go_spellings() {
    let s = accepts("a NaN\nb +Inf\nc -Inf\nd inf\ne 08\nf .5\ng 5.\nh 1.2345678E7\ni -1e-3\n");
    assert!(s[0].value.is_nan());
    assert_eq!(s[1].value, f64::INFINITY);
    assert_eq!(s[2].value, f64::NEG_INFINITY);
    assert_eq!(s[3].value, f64::INFINITY);
    assert_eq!(s[4].value, 8.0);
    assert_eq!(s[5].value, 0.5);
    assert_eq!(s[6].value, 5.0);
    assert_eq!(s[7].value, 12_345_678.0);
    assert_eq!(s[8].value, -0.001);
    rejects("a -NaN\n", 1, 3, ErrorKind::InvalidValue);
    rejects("a 1_000\n", 1, 3, ErrorKind::InvalidValue);
    rejects("a 0x1F\n", 1, 3, ErrorKind::InvalidValue);
    rejects("a 1e999\n", 1, 3, ErrorKind::ValueOutOfRange);
    rejects("a\n", 1, 2, ErrorKind::MissingValue);
    rejects("a{b=\"c\"}\n", 1, 9, ErrorKind::MissingValue);
}

#[test]
fn timestamps_are_int64_milliseconds() {
    let s = accepts("a 1 -2\nb 1 9223372036854775807\nc 1 1700000000000  \n");
    assert_eq!(s[0].timestamp_ms, Some(-2));
    assert_eq!(s[1].timestamp_ms, Some(i64::MAX));
    assert_eq!(s[2].timestamp_ms, Some(1_700_000_000_000));
    rejects(
        "a 1 9223372036854775808\n",
        1,
        5,
        ErrorKind::TimestampOutOfRange,
    );
    rejects("a 1 1.5\n", 1, 5, ErrorKind::InvalidTimestamp);
    rejects("a 1 2 3\n", 1, 7, ErrorKind::TrailingText);
}

#[test]
fn label_sets_empty_trailing_comma_and_blanks() {
    let s = accepts("a{} 1\nb{x=\"1\",} 2\nc { x = \"1\" , y=\"2\" } 3\nd{x=\"1\"}4\n");
    assert!(s[0].labels.is_empty());
    assert_eq!(s[1].labels.len(), 1);
    assert_eq!(
        s[2].labels,
        vec![("x".into(), "1".into()), ("y".into(), "2".into())]
    );
    assert_eq!(s[3].value, 4.0);
    rejects("a{,} 1\n", 1, 3, ErrorKind::InvalidLabelName);
    rejects("a{x=\"1\",,} 1\n", 1, 9, ErrorKind::InvalidLabelName);
    rejects(
        "a{x=\"1\" y=\"2\"} 1\n",
        1,
        9,
        ErrorKind::ExpectedCommaOrBrace,
    );
    rejects("a{x=1} 1\n", 1, 5, ErrorKind::ExpectedQuote);
    rejects("a{x} 1\n", 1, 4, ErrorKind::ExpectedEquals);
    rejects("a{x=\"1} 1\n", 1, 5, ErrorKind::UnterminatedLabelValue);
}

#[test]
fn label_names() {
    rejects(
        "a{x=\"1\",x=\"2\"} 1\n",
        1,
        9,
        ErrorKind::DuplicateLabelName("x".into()),
    );
    rejects("a{__name__=\"b\"} 1\n", 1, 3, ErrorKind::ReservedLabelName);
    rejects("a{1x=\"1\"} 1\n", 1, 3, ErrorKind::InvalidLabelName);
    rejects("a{x:y=\"1\"} 1\n", 1, 4, ErrorKind::ExpectedEquals);
    // Duplicates are found past the linear-scan limit too.
    let many: Vec<String> = (0..40).map(|i| format!("l{i}=\"v\"")).collect();
    let line = format!("a{{{},l7=\"again\"}} 1\n", many.join(","));
    assert!(matches!(
        strict(&line).map_err(|e| e.kind),
        Err(ErrorKind::DuplicateLabelName(n)) if n == "l7"
    ));
}

#[test]
fn label_names_repeated_from_the_previous_line_are_still_checked() {
    // Names equal to the previous line's skip the class scan; a duplicate must still be caught
    // wherever the repetition stops, and a shorter label set must not leave stale names behind.
    let ok = "m{a=\"1\",b=\"2\"} 1\nm{a=\"1\",b=\"2\"} 2\nm{a=\"1\"} 3\nm{a=\"1\",c=\"3\"} 4\nm{a = \"1\"} 5\n";
    let samples = accepts(ok);
    assert_eq!(samples.len(), 5);
    assert_eq!(samples[3].labels[1], ("c".into(), "3".into()));
    assert_eq!(samples[4].labels, vec![("a".into(), "1".into())]);
    rejects(
        "m{a=\"1\",b=\"2\"} 1\nm{a=\"1\",a=\"2\"} 2\n",
        2,
        9,
        ErrorKind::DuplicateLabelName("a".into()),
    );
    rejects(
        "m{a=\"1\",b=\"2\"} 1\nm{a=\"1\"} 2\nm{a=\"1\",b=\"2\",a=\"3\"} 3\n",
        3,
        15,
        ErrorKind::DuplicateLabelName("a".into()),
    );
    // A name that merely starts like the previous one is a different name.
    let s = accepts("m{ab=\"1\"} 1\nm{abc=\"2\"} 2\nm{a=\"3\"} 3\n");
    assert_eq!(s[1].labels[0].0, "abc");
    assert_eq!(s[2].labels[0].0, "a");
}

#[test]
fn long_and_many_labels_are_walked_again_correctly() {
    // Label positions travel inline only for short label texts and at most six labels; past
    // that the label text is walked again, with the same results.
    let long = "x".repeat(40_000);
    let input = format!("m{{a=\"{long}\",b=\"q\\\"\"}} 1\n");
    let s = accepts(&input);
    assert_eq!(s[0].labels[0].1.len(), 40_000);
    assert_eq!(s[0].labels[1], ("b".into(), "q\"".into()));
    let many: Vec<String> = (0..9).map(|i| format!("l{i}=\"v{i}\\\\\"")).collect();
    let s = accepts(&format!("m{{{}}} 1\n", many.join(",")));
    assert_eq!(s[0].labels.len(), 9);
    assert_eq!(s[0].labels[8], ("l8".into(), "v8\\".into()));
}

#[test]
fn metric_names() {
    let s = accepts("a:b_c 1\n_x 2\n:y 3\n");
    assert_eq!(s.len(), 3);
    rejects("1a 1\n", 1, 1, ErrorKind::InvalidMetricName);
    rejects("a-b 1\n", 1, 2, ErrorKind::InvalidMetricName);
    rejects("{a=\"b\"} 1\n", 1, 1, ErrorKind::InvalidMetricName);
    rejects("  ä 1\n", 1, 3, ErrorKind::InvalidMetricName);
}

#[test]
fn help_and_type_rules() {
    let input = "# HELP a first help\n# TYPE a counter\na 1\n# HELP b\n# HELP b \n# TYPE b gauge\nb 1\n# HELP c escaped \\\\ and \\n here\n# anything else\n#\n# HELP\n";
    let mut parser = Parser::new(input.as_bytes(), Mode::Strict);
    let samples: Vec<_> = parser.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(samples[0].metric_type, MetricType::Counter);
    assert_eq!(samples[1].metric_type, MetricType::Gauge);
    let a = parser.family("a").unwrap();
    assert_eq!(a.help.as_deref(), Some("first help"));
    // Empty docstrings are ignored rather than counted as a HELP.
    assert_eq!(parser.family("b").unwrap().help, None);
    assert_eq!(
        parser.family("c").unwrap().help.as_deref(),
        Some("escaped \\ and \n here")
    );

    rejects(
        "# HELP a x\n# HELP a y\n",
        2,
        8,
        ErrorKind::DuplicateHelp("a".into()),
    );
    rejects(
        "# TYPE a gauge\n# TYPE a counter\n",
        2,
        8,
        ErrorKind::DuplicateOrLateType("a".into()),
    );
    rejects(
        "a 1\n# TYPE a gauge\n",
        2,
        8,
        ErrorKind::DuplicateOrLateType("a".into()),
    );
    rejects("# TYPE a\n", 1, 9, ErrorKind::MissingType);
    rejects(
        "# TYPE a info\n",
        1,
        10,
        ErrorKind::UnknownType("info".into()),
    );
    rejects("# TYPE 1a gauge\n", 1, 8, ErrorKind::InvalidMetricName);
    rejects("# HELP a-b x\n", 1, 8, ErrorKind::InvalidMetricName);
}

#[test]
fn summary_and_histogram_children_resolve_to_their_family() {
    let input = "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n\
                 # TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum 1.5\nh_count 3\n\
                 x_sum 1\n# TYPE g gauge\ng_sum 4\n";
    let s = accepts(input);
    let families: Vec<_> = s
        .iter()
        .map(|s| (s.name.as_str(), s.family.as_str()))
        .collect();
    assert_eq!(
        families,
        vec![
            ("s", "s"),
            ("s_sum", "s"),
            ("s_count", "s"),
            ("h_bucket", "h"),
            ("h_sum", "h"),
            ("h_count", "h"),
            ("x_sum", "x_sum"),
            // A gauge has no _sum child.
            ("g_sum", "g_sum"),
        ]
    );
    rejects(
        "# TYPE s summary\ns{quantile=\"x\"} 1\n",
        2,
        1,
        ErrorKind::InvalidQuantileOrLe("quantile"),
    );
    rejects(
        "# TYPE h histogram\nh_bucket{le=\"big\"} 1\n",
        2,
        1,
        ErrorKind::InvalidQuantileOrLe("le"),
    );
    rejects(
        "# TYPE h histogram\nh_count -1\n",
        2,
        1,
        ErrorKind::NegativeHistogramCount,
    );
}

#[test]
fn final_newline_and_blank_lines() {
    assert_eq!(accepts("").len(), 0);
    assert_eq!(accepts("\n\n  \n\t\n").len(), 0);
    assert_eq!(accepts("a 1\n  ").len(), 1);
    rejects("a 1\nb 2", 2, 4, ErrorKind::MissingFinalNewline);
    // CR is not a line ending: it becomes part of the value.
    rejects("a 1\r\n", 1, 3, ErrorKind::InvalidValue);
}

#[test]
fn invalid_utf8_is_reported_where_it_matters() {
    let mut input = b"# comment \xff\na{x=\"".to_vec();
    input.extend_from_slice(b"\xc3\x28\"} 1\nb 2\n");
    let mut parser = Parser::new(&input, Mode::Strict);
    let err = parser.next().unwrap().unwrap_err();
    assert_eq!(
        (err.line, err.column, err.kind),
        (2, 6, ErrorKind::InvalidUtf8)
    );
    let s = accepts("a{x=\"héllo ✓\"} 1\n");
    assert_eq!(s[0].labels[0].1, "héllo ✓");
}

#[test]
fn error_message_names_line_column_and_reason() {
    let err = strict("ok 1\nbad{x=1} 1\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2, column 7: expected '\"' at start of label value"
    );
}

#[test]
fn strict_stops_at_the_first_error() {
    let items: Vec<_> = Parser::new(b"a 1\nb x\nc 3\n", Mode::Strict).collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert!(items[1].is_err());
}
