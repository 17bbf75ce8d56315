//! Tests of the tree layout, one file per question.
