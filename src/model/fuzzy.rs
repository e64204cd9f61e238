//! "Did you mean": the closest known name to an unknown one.

/// The candidate closest to `unknown` by edit distance, if it is close enough
/// to be a plausible typo (or differs only by case or separators).
pub fn closest<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let normalized = normalize(unknown);
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        if normalize(candidate) == normalized {
            return Some(candidate);
        }
        let score = strsim::jaro_winkler(unknown, candidate);
        let distance = strsim::levenshtein(unknown, candidate);
        let close = distance <= (unknown.len().max(candidate.len()) / 3).max(1) || score >= 0.9;
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_typos() {
        let names = ["bigtable-a", "bigtable-b", "chubby", "backbone"];
        assert_eq!(closest("chuby", names), Some("chubby"));
        assert_eq!(closest("bigtable_a", names), Some("bigtable-a"));
        assert_eq!(closest("zzz", names), None);
    }
}
