//! A first-in, first-out queue with room for a few items inline: the engine's queue of
//! actions, which holds one to three at a time in a typical race (a query per family, or a
//! connect and a done), costs no allocation until a burst outgrows it (the cancels of many
//! attempts in flight at the win).

use smallvec::SmallVec;

/// How many items the queue holds without allocating.
const INLINE: usize = 4;

/// A FIFO queue: [`Fifo::push_back`] and [`Fifo::pop_front`], amortised O(1).
#[derive(Debug, Clone)]
pub(crate) struct Fifo<T> {
    /// Taken items are `None`, before `head`; queued ones are `Some`, from `head` on.
    items: SmallVec<[Option<T>; INLINE]>,
    /// Where the oldest queued item is.
    head: usize,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo {
            items: SmallVec::new(),
            head: 0,
        }
    }
}

impl<T> Fifo<T> {
    /// Queues `item` last.
    pub(crate) fn push_back(&mut self, item: T) {
        // Taken slots are reclaimed once they are at least half the storage, so it never
        // grows beyond twice the most items queued at once.
        if self.head > 0 && self.head * 2 >= self.items.len() {
            self.items.drain(..self.head);
            self.head = 0;
        }
        self.items.push(Some(item));
    }

    /// Takes the oldest item, if any.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let item = self.items.get_mut(self.head)?.take();
        self.head += 1;
        if self.head == self.items.len() {
            self.items.clear();
            self.head = 0;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_in_first_out_across_bursts_and_interleaving() {
        let mut q = Fifo::default();
        assert_eq!(q.pop_front(), None::<u32>);
        for i in 0..10 {
            q.push_back(i);
        }
        for i in 0..3 {
            assert_eq!(q.pop_front(), Some(i));
        }
        // Interleaved pushes and pops never reorder and never grow without bound.
        let mut next_out = 3;
        for i in 10..10_000 {
            q.push_back(i);
            assert_eq!(q.pop_front(), Some(next_out));
            next_out += 1;
            assert!(
                q.items.len() <= 2 * 8 + 2,
                "storage {} at {i}",
                q.items.len()
            );
        }
        while let Some(x) = q.pop_front() {
            assert_eq!(x, next_out);
            next_out += 1;
        }
        assert_eq!(next_out, 10_000);
        assert!(q.items.is_empty() && q.head == 0);
    }

    #[test]
    fn a_few_items_stay_inline() {
        let mut q = Fifo::default();
        for round in 0..100 {
            for i in 0..INLINE {
                q.push_back(round * 10 + i);
            }
            for i in 0..INLINE {
                assert_eq!(q.pop_front(), Some(round * 10 + i));
            }
            assert!(!q.items.spilled());
        }
    }
}
