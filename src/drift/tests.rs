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
    Window {
        capacity,
        ring: vec![0; capacity * 2],
        features: vec![
            Feature::new("x", &numeric()).expect("numeric"),
            Feature::new("c", &categorical).expect("categorical"),
        ],
        head: 0,
        len: 0,
    }
}

fn push(w: &mut Window, x: f64, c: &str) {
    w.push(|f, feature| match f {
        0 => feature.bucket_of_number(x),
        _ => feature.bucket_of_text(c),
    });
}

#[test]
fn numeric_buckets_follow_the_edges() {
    let f = Feature::new("x", &numeric()).expect("numeric");
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
    let mut w = window(400);
    for i in 0..400 {
        push(
            &mut w,
            f64::from(i % 4) + 0.5,
            if i % 2 == 0 { "a" } else { "b" },
        );
    }
    let psi = w.psi();
    assert!(psi[0].1.expect("x") < 1e-9, "{psi:?}");
    assert!(psi[1].1.expect("c") < 1e-3, "{psi:?}");
    // The window slides: 400 rows all in the last bin push the old rows out entirely.
    for _ in 0..400 {
        push(&mut w, 10.0, "zzz");
    }
    assert_eq!(w.len, 400);
    assert_eq!(w.features[0].counts, [0, 0, 0, 400]);
    let psi = w.psi();
    assert!(psi[0].1.expect("x") > 0.2, "{psi:?}");
    assert!(psi[1].1.expect("c") > 0.2, "{psi:?}");
}

#[test]
fn psi_waits_for_enough_rows() {
    let mut w = window(1000);
    for _ in 0..MIN_ROWS - 1 {
        push(&mut w, 0.5, "a");
    }
    assert_eq!(w.psi()[0].1, None);
    push(&mut w, 0.5, "a");
    assert!(w.psi()[0].1.is_some());
}

#[test]
fn psi_matches_the_formula() {
    let mut w = window(100);
    // Actual: 50% in bin 0, 50% in bin 1; expected 25% each of four.
    for i in 0..100 {
        push(&mut w, if i % 2 == 0 { 0.5 } else { 1.5 }, "a");
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
    assert!(Feature::new("x", &broken).is_none());
}
