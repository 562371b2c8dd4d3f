//! De-duplication for targets, answers and candidates: [`Distinct`], a list of items with
//! distinct keys in the order they were added, and [`Seen`], a set of keys alone.
//!
//! Most races have one or two addresses, a few have dozens, and a hostile answer may have
//! tens of thousands. A hash index costs an allocation and a SipHash per key, more than the
//! whole search among a handful of keys, so the index is built only once the list is longer
//! than [`LINEAR_MAX`]; up to there a key is found by comparing it with each item's. Either
//! way `n` additions cost O(n) (at most `LINEAR_MAX` comparisons each, then one hash each),
//! and the answers are the same: the index, once built, holds every item's key.

use std::collections::HashSet;
use std::hash::Hash;
use std::net::IpAddr;

use smallvec::SmallVec;

/// The longest list searched by comparing keys one by one; past it a hash index is built.
pub(crate) const LINEAR_MAX: usize = 16;

/// A [`Distinct`]'s items: one or two (a literal, an address per family) need no allocation.
pub(crate) type Items<T> = SmallVec<[T; 2]>;

/// An item with a key by which it is told apart from the others in a [`Distinct`] list.
pub(crate) trait Keyed {
    /// The key: two items with equal keys are the same item.
    type Key: Copy + Eq + Hash;

    /// This item's key.
    fn key(&self) -> Self::Key;
}

impl Keyed for IpAddr {
    type Key = IpAddr;

    fn key(&self) -> IpAddr {
        *self
    }
}

/// Items with distinct keys, in the order they were added.
#[derive(Debug, Clone)]
pub(crate) struct Distinct<T: Keyed> {
    items: Items<T>,
    /// Every item's key: `None` while `items` has at most [`LINEAR_MAX`] items (not even a
    /// hasher's keys are made), then complete.
    index: Option<HashSet<T::Key>>,
}

impl<T: Keyed> Distinct<T> {
    /// An empty list with room for `capacity` items (the index is sized for them too, if one
    /// is needed).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Distinct {
            items: SmallVec::with_capacity(capacity),
            index: None,
        }
    }

    /// Whether an item has `key`.
    pub(crate) fn contains(&self, key: T::Key) -> bool {
        match &self.index {
            Some(index) => index.contains(&key),
            None => self.items.iter().any(|item| item.key() == key),
        }
    }

    /// Adds `item` unless an item with its key is there already; returns whether it was added.
    pub(crate) fn insert(&mut self, item: T) -> bool {
        let key = item.key();
        match &mut self.index {
            // One hash for both the look-up and the addition.
            Some(index) => {
                if !index.insert(key) {
                    return false;
                }
                self.items.push(item);
            }
            None => {
                if self.items.iter().any(|x| x.key() == key) {
                    return false;
                }
                self.items.push(item);
                if self.items.len() > LINEAR_MAX {
                    // Outgrown the linear search: index every item, with room for as many
                    // as the list has room for, so that a list sized in advance (a long
                    // target) never rehashes.
                    let mut index = HashSet::with_capacity(self.items.capacity());
                    index.extend(self.items.iter().map(Keyed::key));
                    self.index = Some(index);
                }
            }
        }
        true
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, in the order they were added.
    pub(crate) fn into_vec(self) -> Vec<T> {
        self.items.into_vec()
    }

    /// The items, in the order they were added, without moving them to the heap.
    pub(crate) fn into_items(self) -> Items<T> {
        self.items
    }
}

impl<T: Keyed> FromIterator<T> for Distinct<T> {
    /// The distinct items of `iter`, each the first of its key.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut out = Distinct::with_capacity(iter.size_hint().0);
        for item in iter {
            out.insert(item);
        }
        out
    }
}

/// A set of keys, for when only "seen before?" is asked (screening an answer, which may be
/// tens of thousands of addresses long): a short list while it has at most [`LINEAR_MAX`]
/// keys, then a hash set alone, sized for the expected number of keys once and for all.
#[derive(Debug, Clone)]
pub(crate) enum Seen<K> {
    /// Few keys so far, searched one by one.
    Few {
        keys: Vec<K>,
        /// How many keys are expected in all: the hash set's capacity, if one is needed.
        expected: usize,
    },
    /// More keys than the linear search serves.
    Many(HashSet<K>),
}

impl<K: Copy + Eq + Hash> Seen<K> {
    /// An empty set that expects about `expected` keys.
    pub(crate) fn with_capacity(expected: usize) -> Self {
        Seen::Few {
            keys: Vec::with_capacity(expected.min(LINEAR_MAX)),
            expected,
        }
    }

    /// Adds `key`; returns whether it is new.
    pub(crate) fn insert(&mut self, key: K) -> bool {
        match self {
            Seen::Many(set) => set.insert(key),
            Seen::Few { keys, .. } if keys.contains(&key) => false,
            Seen::Few { keys, .. } if keys.len() < LINEAR_MAX => {
                keys.push(key);
                true
            }
            Seen::Few { keys, expected } => {
                // The list is full: every key so far, and this new one, go to a hash set.
                let mut set = HashSet::with_capacity((*expected).max(LINEAR_MAX + 1));
                set.extend(keys.iter().copied());
                set.insert(key);
                *self = Seen::Many(set);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn ip(i: u16) -> IpAddr {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i))
    }

    /// The same answers on both sides of the switch to the hash index, and while crossing it.
    #[test]
    fn linear_and_indexed_agree() {
        for n in [
            0,
            1,
            2,
            LINEAR_MAX - 1,
            LINEAR_MAX,
            LINEAR_MAX + 1,
            3 * LINEAR_MAX,
        ] {
            let mut d = Distinct::with_capacity(0);
            for i in 0..n as u16 {
                assert!(d.insert(ip(i)), "{n}: {i} is new");
                assert!(!d.insert(ip(i)), "{n}: {i} again");
                for j in 0..=i {
                    assert!(d.contains(ip(j)), "{n}: {j} of {i}");
                }
                assert!(!d.contains(ip(i + 1)));
            }
            assert_eq!(d.is_empty(), n == 0);
            let expected: Vec<IpAddr> = (0..n as u16).map(ip).collect();
            assert_eq!(d.into_vec(), expected);
        }
    }

    #[test]
    fn from_iter_keeps_the_first_of_each_key_in_order() {
        let items = [ip(3), ip(1), ip(3), ip(2), ip(1)];
        let d: Distinct<IpAddr> = items.into_iter().collect();
        assert_eq!(d.into_vec(), [ip(3), ip(1), ip(2)]);
        let many: Distinct<IpAddr> = (0..100).chain(0..100).map(ip).collect();
        assert_eq!(many.into_vec(), (0..100).map(ip).collect::<Vec<_>>());
    }

    /// `Seen` answers as a plain set does, on both sides of the switch.
    #[test]
    fn seen_agrees_with_a_hash_set() {
        for expected in [0, 1, 100] {
            let mut seen = Seen::with_capacity(expected);
            let mut set = HashSet::new();
            for i in (0..3 * LINEAR_MAX as u16)
                .chain(0..3 * LINEAR_MAX as u16)
                .map(|i| i % 40)
            {
                assert_eq!(seen.insert(ip(i)), set.insert(ip(i)), "{expected}: {i}");
            }
        }
    }
}
