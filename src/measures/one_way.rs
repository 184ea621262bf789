//! One-way deterministic communication complexity, read off the distinct rows or columns.
//!
//! With one message from Alice to Bob, Bob can answer exactly when Alice's message determines her
//! row, so the fewest messages is the number of distinct rows and the cost is
//! `ceil(log2 #distinct rows)` bits (Bob knows the answer; nobody sends it back). Bob → Alice
//! is the same on the columns.

use crate::certificate::{Direction, OneWayCert};
use crate::matrix::CommMatrix;
use crate::measures::ceil_log2;

/// One-way CC in `direction`, with the message of every input as certificate.
///
/// Cost: one parallel sort of the rows (`O(rows · log rows · stride)`); Bob → Alice transposes
/// first. Memory: the matrix plus about `12 · rows` bytes.
pub fn one_way(m: &CommMatrix, direction: Direction) -> OneWayCert {
    let classes = match direction {
        Direction::AliceToBob => m.row_classes(),
        Direction::BobToAlice => m.col_classes(),
    };
    let messages = classes.count() as u64;
    OneWayCert {
        direction,
        messages,
        bits: ceil_log2(messages),
        message_of: classes.class_of,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ProblemSpec;

    #[test]
    fn index_closed_form() {
        for n in 1..=10u32 {
            let m = ProblemSpec::Index { n }.matrix().unwrap();
            assert_eq!(one_way(&m, Direction::AliceToBob).bits, n);
            assert_eq!(
                one_way(&m, Direction::BobToAlice).bits,
                ceil_log2(u64::from(n))
            );
        }
    }

    #[test]
    fn eq_closed_form() {
        let m = ProblemSpec::Eq { n: 5 }.matrix().unwrap();
        let c = one_way(&m, Direction::AliceToBob);
        assert_eq!((c.messages, c.bits), (32, 5));
    }
}
