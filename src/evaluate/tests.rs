//! Evaluation tests: written next.
