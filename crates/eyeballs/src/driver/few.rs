//! [`Few`]: a map for the handful of entries a race keeps per id (attempts in flight, values
//! awaiting the verdict), whose first entry needs no allocation: most races have one.

/// A small map from ids to values; the first entry is kept inline, the others in a list.
/// Lookups are linear: a race has at most a few dozen entries.
#[derive(Debug)]
pub(crate) struct Few<K, V> {
    first: Option<(K, V)>,
    rest: Vec<(K, V)>,
}

impl<K, V> Default for Few<K, V> {
    fn default() -> Self {
        Few {
            first: None,
            rest: Vec::new(),
        }
    }
}

impl<K: PartialEq + Copy, V> Few<K, V> {
    /// Adds `value` under `key` (a key is inserted at most once by its callers).
    pub(crate) fn insert(&mut self, key: K, value: V) {
        if self.first.is_none() {
            self.first = Some((key, value));
        } else {
            self.rest.push((key, value));
        }
    }

    /// Takes the value under `key` out, if there is one.
    pub(crate) fn remove(&mut self, key: K) -> Option<V> {
        if self.first.as_ref().is_some_and(|(k, _)| *k == key) {
            return self.first.take().map(|(_, v)| v);
        }
        let i = self.rest.iter().position(|(k, _)| *k == key)?;
        Some(self.rest.remove(i).1)
    }

    /// Whether there is no entry.
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none() && self.rest.is_empty()
    }

    /// Every entry, in no particular order, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (K, &mut V)> + '_ {
        self.first
            .iter_mut()
            .chain(self.rest.iter_mut())
            .map(|(k, v)| (*k, v))
    }

    /// Drops every entry.
    pub(crate) fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_and_iterate() {
        let mut few = Few::default();
        assert!(few.is_empty());
        few.insert(1, "a");
        few.insert(2, "b");
        few.insert(3, "c");
        assert_eq!(few.remove(2), Some("b"));
        assert_eq!(few.remove(2), None);
        let mut keys: Vec<i32> = few.iter_mut().map(|(k, _)| k).collect();
        keys.sort_unstable();
        assert_eq!(keys, [1, 3]);
        assert_eq!(few.remove(1), Some("a"));
        // The inline slot is free again.
        few.insert(4, "d");
        assert_eq!(few.remove(3), Some("c"));
        assert_eq!(few.remove(4), Some("d"));
        assert!(few.is_empty());
        few.insert(5, "e");
        few.clear();
        assert!(few.is_empty());
    }
}
