//! "Did you mean": the one place that finds the known word closest to a mistyped one and says
//! so (in the spirit of just's `src/suggestion.rs`). Every front-end and `psctl explain` use it.

use std::fmt;

/// How close a candidate must be to count, as a similarity from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Closeness {
    /// Short, upper-case pfile words (PARAM keys, extension fields, actions, group names):
    /// a wrong suggestion there would be more confusing than none.
    Near,
    /// Description keys and enum words, where any plausible hint helps.
    Loose,
}

impl Closeness {
    fn min(self) -> f64 {
        match self {
            Closeness::Near => 0.6,
            Closeness::Loose => 0.5,
        }
    }
}

/// A known word offered in place of an unknown one; displays as "did you mean `NAME`?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suggestion<'a> {
    pub name: &'a str,
}

impl Suggestion<'_> {
    /// The help text with `after` written right after the name (`IPCKEY 0x1f000501`,
    /// `group=`), for suggestions that show how to write the whole thing.
    pub fn with(&self, after: &str) -> String {
        format!("did you mean `{}{after}`?", self.name)
    }
}

impl fmt::Display for Suggestion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "did you mean `{}`?", self.name)
    }
}

/// The candidate closest to `word`, if one is close enough. A word more than twice as long as
/// a candidate cannot reach 0.5 with it, so it is not compared: the comparison allocates a
/// table of both lengths, and a 1 MB key would otherwise cost a hundred megabytes.
pub fn suggest<'a>(word: &str, candidates: &[&'a str], how: Closeness) -> Option<Suggestion<'a>> {
    let min = how.min();
    let len = word.chars().count();
    candidates
        .iter()
        .filter(|c| len <= 2 * c.len())
        .map(|c| (strsim::normalized_damerau_levenshtein(word, c), *c))
        .filter(|(score, _)| *score >= min)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| Suggestion { name })
}

/// Up to `n` identifiers close to `word`, best first (ties in name order), for lists of close
/// matches such as `psctl explain`'s. An identifier made of `::`-separated segments also
/// matches by its last segment, and one containing `word` counts as close.
pub fn ranked<'a>(word: &str, candidates: &[&'a str], n: usize) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &'a str)> = candidates
        .iter()
        .map(|id| {
            let last = id.rsplit("::").next().unwrap_or(id);
            let score = strsim::normalized_levenshtein(word, id)
                .max(strsim::normalized_levenshtein(word, last))
                .max(if id.contains(word) { 0.9 } else { 0.0 });
            (score, *id)
        })
        .filter(|(s, _)| *s >= Closeness::Loose.min())
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(n).map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_closest_known_word() {
        let keys = ["IPCKEY", "MONITOR_INTERVAL", "MONITOR_TRY_COUNT"];
        let s = suggest("MONITOR_INTERVALL", &keys, Closeness::Near).unwrap();
        assert_eq!(s.to_string(), "did you mean `MONITOR_INTERVAL`?");
        assert_eq!(
            suggest("IPCKEYY", &keys, Closeness::Near)
                .unwrap()
                .with(" 1"),
            "did you mean `IPCKEY 1`?"
        );
        assert_eq!(suggest("xyz", &keys, Closeness::Near), None);
        // A huge word is not compared at all.
        assert_eq!(suggest(&"I".repeat(1 << 20), &keys, Closeness::Loose), None);
    }

    #[test]
    fn ranks_identifiers_by_whole_and_last_segment() {
        let ids = [
            "psctl::pfile::unknown_key",
            "psctl::schema::unknown_key",
            "psctl::io",
        ];
        assert_eq!(
            ranked("unknown_key", &ids, 5),
            ["psctl::pfile::unknown_key", "psctl::schema::unknown_key"]
        );
    }
}
