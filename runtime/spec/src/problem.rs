//! [`Problem`] and [`Problems`]: what is wrong with a pipeline, each thing with the field it
//! is about, so a person (or an editor) can go straight to it.
//!
//! Field paths are dotted, arrays indexed by number: `stage.1.on_error`, `source.csv.schema.0`.
//! The same document gives the same paths whether it was written as TOML or JSON; a TOML
//! file's problems also carry the line.

use std::fmt;

use quiver_fault::{Fault, HasFault};
use serde::Serialize;

/// One thing wrong with a pipeline (or with what it refers to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field it is about, as a dotted path (`stage.1.config.factor`, `source.path`);
    /// empty for the document as a whole.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
    /// The line of a TOML file where the field is written, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Whose fault it is (configuration, unless the problem was found by opening something:
    /// storage can be unavailable, a file can be corrupt).
    #[serde(skip)]
    pub fault: Fault,
}

impl Problem {
    /// A configuration problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            message: message.into(),
            line: None,
            fault: Fault::Config,
        }
    }

    /// The same problem with another fault class.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.field.is_empty(), self.line) {
            (true, _) => f.write_str(&self.message),
            (false, Some(line)) => write!(f, "`{}` (line {line}): {}", self.field, self.message),
            (false, None) => write!(f, "`{}`: {}", self.field, self.message),
        }
    }
}

/// Every problem found in one pass, in document order. Its fault class is the first
/// problem's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems {
    /// What was checked (`pipeline file examples/demo/pipeline.toml`, `the pipeline`).
    pub subject: String,
    /// The problems; never empty.
    pub problems: Vec<Problem>,
}

impl Problems {
    /// Problems of `subject`.
    pub fn new(subject: impl Into<String>, problems: Vec<Problem>) -> Self {
        Problems {
            subject: subject.into(),
            problems,
        }
    }

    /// One problem.
    pub fn one(subject: impl Into<String>, problem: Problem) -> Self {
        Self::new(subject, vec![problem])
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{}: {one}", self.subject),
            many => {
                write!(f, "{}: {} problems:", self.subject, many.len())?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl HasFault for Problems {
    fn fault(&self) -> Fault {
        self.problems.first().map_or(Fault::Config, |p| p.fault)
    }
}
