//! Deterministic train/test splits from a seed (stratified by class for classification).

use crate::dataset::{Table, Target};

/// SplitMix64: a tiny, well-known generator, so a split depends only on the seed and never on
/// a library's version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0); the modulo bias is negligible for dataset sizes.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Fisher–Yates shuffle of `items` driven by `seed`.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = SplitMix64(seed);
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

/// Splits row indices into (train, held out), holding out `fraction` of the rows (of each class
/// for classification). Both lists are sorted, so files keep the raw file's row order.
pub fn split_indices(table: &Table, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let groups: Vec<Vec<usize>> = match &table.target {
        Target::Numeric(v) => vec![(0..v.len()).collect()],
        Target::Class(v) => {
            let classes = v.iter().copied().max().map_or(0, |m| m + 1);
            (0..classes)
                .map(|c| (0..v.len()).filter(|&i| v[i] == c).collect())
                .collect()
        }
    };
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for (g, mut group) in groups.into_iter().enumerate() {
        shuffle(&mut group, seed.wrapping_add(g as u64));
        let n_held = ((group.len() as f64) * fraction).round() as usize;
        held.extend_from_slice(&group[..n_held]);
        train.extend_from_slice(&group[n_held..]);
    }
    train.sort_unstable();
    held.sort_unstable();
    (train, held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(labels: Vec<usize>) -> Table {
        Table {
            numeric: vec![labels.iter().map(|&l| l as f64).collect()],
            categorical: vec![],
            target: Target::Class(labels),
        }
    }

    #[test]
    fn split_is_deterministic_disjoint_and_complete() {
        let table = classes((0..100).map(|i| i % 3).collect());
        let (train, test) = split_indices(&table, 0.2, 7);
        assert_eq!(split_indices(&table, 0.2, 7), (train.clone(), test.clone()));
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_ne!(
            split_indices(&table, 0.2, 8).1,
            test,
            "another seed, another split"
        );
    }

    #[test]
    fn classification_split_is_stratified() {
        let table = classes((0..150).map(|i| i / 50).collect());
        let (_, test) = split_indices(&table, 0.2, 42);
        for class in 0..3 {
            assert_eq!(test.iter().filter(|&&i| i / 50 == class).count(), 10);
        }
    }
}
