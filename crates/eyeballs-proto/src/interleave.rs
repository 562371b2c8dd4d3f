//! Family interleaving (RFC 8305 §4, HE-4.7, HE-4.8).

use crate::endpoint::Family;

/// Reorders `items` (already sorted) so that the families alternate, and hands each to `out`
/// in the new order: `count` items of `leader` first (the First Address Family Count, HE-4.8),
/// then one of the other family, one of the leader, and so on; when one family runs out the
/// rest of the other follows in order (checklist D2). Each family keeps its own relative
/// order.
///
/// `[6a, 6b, 6c, 4a, 4b]` with count 1 becomes `[6a, 4a, 6b, 4b, 6c]` (HE-4.7).
///
/// Allocates nothing: each family is a filtered walk over `items`, so the whole costs two
/// passes over it.
pub(crate) fn interleave<T: Copy>(
    items: &[T],
    family_of: impl Fn(&T) -> Family,
    leader: Family,
    count: usize,
    mut out: impl FnMut(T),
) {
    let mut lead = items.iter().copied().filter(|t| family_of(t) == leader);
    let mut other = items.iter().copied().filter(|t| family_of(t) != leader);
    for _ in 0..count {
        match lead.next() {
            Some(t) => out(t),
            None => break,
        }
    }
    loop {
        let (o, l) = (other.next(), lead.next());
        if o.is_none() && l.is_none() {
            break;
        }
        if let Some(t) = o {
            out(t);
        }
        if let Some(t) = l {
            out(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Family::{V4, V6};

    fn run(items: &[(Family, &'static str)], leader: Family, count: usize) -> Vec<&'static str> {
        let mut out = Vec::new();
        interleave(items, |t| t.0, leader, count, |t| out.push(t.1));
        out
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
