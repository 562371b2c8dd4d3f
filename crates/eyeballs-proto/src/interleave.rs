//! Family interleaving (RFC 8305 §4, HE-4.7, HE-4.8).

use std::collections::VecDeque;

use crate::endpoint::Family;

/// Reorders `items` (already sorted) so that the families alternate: `count` items of
/// `leader` first (the First Address Family Count, HE-4.8), then one of the other family, one
/// of the leader, and so on; when one family runs out the rest of the other follows in order
/// (checklist D2). Each family keeps its own relative order.
///
/// `[6a, 6b, 6c, 4a, 4b]` with count 1 becomes `[6a, 4a, 6b, 4b, 6c]` (HE-4.7).
pub(crate) fn interleave<T>(
    items: Vec<T>,
    family_of: impl Fn(&T) -> Family,
    leader: Family,
    count: usize,
) -> Vec<T> {
    let total = items.len();
    let mut lead = VecDeque::with_capacity(total);
    let mut other = VecDeque::with_capacity(total);
    for item in items {
        if family_of(&item) == leader {
            lead.push_back(item);
        } else {
            other.push_back(item);
        }
    }
    let mut out = Vec::with_capacity(total);
    out.extend(lead.drain(..count.min(lead.len())));
    loop {
        match (other.pop_front(), lead.pop_front()) {
            (None, None) => break,
            (o, l) => out.extend(o.into_iter().chain(l)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Family::{V4, V6};

    fn run(items: &[(Family, &'static str)], leader: Family, count: usize) -> Vec<&'static str> {
        interleave(items.to_vec(), |t| t.0, leader, count)
            .into_iter()
            .map(|t| t.1)
            .collect()
    }

    #[test]
    fn he_4_7_first_of_other_family_moves_to_second_place() {
        let items = [(V6, "6a"), (V6, "6b"), (V6, "6c"), (V4, "4a"), (V4, "4b")];
        assert_eq!(run(&items, V6, 1), ["6a", "4a", "6b", "4b", "6c"]);
    }

    #[test]
    fn he_4_8_first_address_family_count_two() {
        let items = [(V6, "6a"), (V6, "6b"), (V6, "6c"), (V4, "4a"), (V4, "4b")];
        assert_eq!(run(&items, V6, 2), ["6a", "6b", "4a", "6c", "4b"]);
    }

    #[test]
    fn count_larger_than_family_and_single_family() {
        let items = [(V6, "6a"), (V4, "4a"), (V4, "4b")];
        assert_eq!(run(&items, V6, 5), ["6a", "4a", "4b"]);
        assert_eq!(run(&items, V4, 1), ["4a", "6a", "4b"]);
        assert_eq!(run(&[(V4, "4a"), (V4, "4b")], V6, 1), ["4a", "4b"]);
        assert!(run(&[], V6, 1).is_empty());
    }
}
