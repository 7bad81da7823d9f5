//! Windows and PSI on hand-made references.

use super::*;

fn numeric() -> ReferenceDistribution {
    // Four equal bins: (-inf, 1), [1, 2), [2, 3), [3, inf).
    ReferenceDistribution::Numeric {
        edges: vec![1.0, 2.0, 3.0],
        fractions: vec![0.25; 4],
    }
}

fn window(capacity: usize) -> Window {
    let categorical = ReferenceDistribution::Categorical {
        categories: vec!["a".into(), "b".into()],
        fractions: vec![0.5, 0.5, 0.0],
    };
    let features = vec![
        Feature::new("x", 0, &numeric()).expect("numeric"),
        Feature::new("c", 1, &categorical).expect("categorical"),
    ];
    Window::new(features, capacity).expect("a window")
}

fn push(w: &Window, x: f64, c: &str) {
    w.push(|feature| match feature.index {
        0 => feature.bucket_of_number(x),
        _ => feature.bucket_of_text(c),
    });
}

#[test]
fn numeric_buckets_follow_the_edges() {
    let f = Feature::new("x", 0, &numeric()).expect("numeric");
    let buckets: Vec<Option<usize>> = [-5.0, 0.99, 1.0, 2.5, 3.0, 99.0, f64::NAN]
        .iter()
        .map(|&x| f.bucket_of_number(x))
        .collect();
    assert_eq!(
        buckets,
        [Some(0), Some(0), Some(1), Some(2), Some(3), Some(3), None]
    );
}

#[test]
fn a_reference_distribution_gives_a_psi_near_zero_and_a_shift_a_large_one() {
    let w = window(400);
    for i in 0..400 {
        push(
            &w,
            f64::from(i % 4) + 0.5,
            if i % 2 == 0 { "a" } else { "b" },
        );
    }
    let psi = w.psi();
    assert!(psi[0].1.expect("x") < 1e-9, "{psi:?}");
    assert!(psi[1].1.expect("c") < 1e-3, "{psi:?}");
    // The window slides: 400 rows all in the last bin push the old rows out entirely.
    for _ in 0..400 {
        push(&w, 10.0, "zzz");
    }
    assert_eq!(w.len(), 400);
    assert_eq!(w.rows.lock().expect("rows").counts[0], [0, 0, 0, 400]);
    let psi = w.psi();
    assert!(psi[0].1.expect("x") > 0.2, "{psi:?}");
    assert!(psi[1].1.expect("c") > 0.2, "{psi:?}");
}

#[test]
fn psi_waits_for_enough_rows() {
    let w = window(1000);
    for _ in 0..MIN_ROWS - 1 {
        push(&w, 0.5, "a");
    }
    assert_eq!(w.psi()[0].1, None);
    push(&w, 0.5, "a");
    assert!(w.psi()[0].1.is_some());
}

#[test]
fn psi_matches_the_formula() {
    let w = window(100);
    // Actual: 50% in bin 0, 50% in bin 1; expected 25% each of four.
    for i in 0..100 {
        push(&w, if i % 2 == 0 { 0.5 } else { 1.5 }, "a");
    }
    let e: f64 = 0.25;
    let a: f64 = 0.5;
    let empty = (EPSILON - e) * (EPSILON / e).ln();
    let want = 2.0 * (a - e) * (a / e).ln() + 2.0 * empty;
    let got = w.psi()[0].1.expect("x");
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
}

#[test]
fn a_reference_with_mismatched_bins_is_not_used() {
    let broken = ReferenceDistribution::Numeric {
        edges: vec![1.0],
        fractions: vec![1.0],
    };
    assert!(Feature::new("x", 0, &broken).is_none());
}

#[test]
fn rows_with_a_feature_it_cannot_read_are_left_out() {
    let w = window(10);
    // Row 1's second feature is unreadable: rows 0 and 2 are kept, whole.
    let buckets = w.buckets(3, |r, feature| match (r, feature.index) {
        (1, 1) => None,
        (_, 0) => feature.bucket_of_number(r as f64 + 0.5),
        _ => feature.bucket_of_text("b"),
    });
    assert_eq!(buckets, [0, 1, 2, 1]);
    w.add(&buckets);
    assert_eq!(w.len(), 2);
    let rows = w.rows.lock().expect("rows");
    assert_eq!(rows.counts[0], [1, 0, 1, 0]);
    assert_eq!(rows.counts[1], [0, 2, 0]);
}

proptest::proptest! {
    /// However the rows arrive (one at a time or in batches, around the ring many times over),
    /// the window's counts are those of its newest `capacity` rows.
    #[test]
    fn the_counts_are_those_of_the_newest_rows(
        capacity in 1usize..9,
        batches in proptest::collection::vec(proptest::collection::vec(0.0f64..4.0, 0..7), 0..12),
    ) {
        let w = window(capacity);
        let mut all = Vec::new();
        for batch in &batches {
            let rows = w.buckets(batch.len(), |r, feature| match feature.index {
                0 => feature.bucket_of_number(batch[r]),
                _ => feature.bucket_of_text("a"),
            });
            w.add(&rows);
            all.extend(batch.iter().copied());
        }
        let newest = &all[all.len().saturating_sub(capacity)..];
        let mut expected = vec![0u32; 4];
        for &x in newest {
            expected[x as usize] += 1;
        }
        let rows = w.rows.lock().expect("lock");
        proptest::prop_assert_eq!(rows.len, newest.len());
        proptest::prop_assert_eq!(&rows.counts[0], &expected);
    }
}

proptest::proptest! {
    /// Counting the edges at most `x` and searching for the first one above it agree, for
    /// edge lists on both sides of the switch between the two.
    #[test]
    fn counting_and_searching_the_edges_agree(
        mut edges in proptest::collection::vec(-1e3f64..1e3, 1..80),
        xs in proptest::collection::vec(-1.1e3f64..1.1e3, 1..20),
    ) {
        edges.sort_by(f64::total_cmp);
        let fractions = vec![1.0 / (edges.len() + 1) as f64; edges.len() + 1];
        let reference = ReferenceDistribution::Numeric { edges: edges.clone(), fractions };
        let f = Feature::new("x", 0, &reference).expect("numeric");
        for x in xs.into_iter().chain(edges.iter().copied()) {
            proptest::prop_assert_eq!(f.bucket_of_number(x), Some(edges.partition_point(|&e| e <= x)));
        }
    }
}
