//! `validate`: data-quality rules, each with an action for the rows that break it.
//!
//! A rule checks one column (`not_null`, `unique`, `range`, `regex`, `allowed`, `length`)
//! or compares two columns of the same row (`compare`: `end >= start`). Its `action` says
//! what happens to a row that breaks it: `fail` stops the run with a data error naming the
//! rule, column, row and value; `drop` removes the row; `flag` keeps it and marks it in two
//! appended columns, a boolean (`_invalid` unless configured) and a text column listing the
//! names of the flag rules it broke (`_invalid_rules`; null for rows that broke none).
//! Every rule counts the rows that broke it in the host counter `rule:<name>`, whatever its
//! action, so no row is dropped silently: drop and flag rules once the call has succeeded,
//! a fail rule 1 for the row it fails on (the host keeps that count and isolates the row; the
//! rows around it are sent again and counted then).
//!
//! All rules run on every row of the batch as it arrived (a row dropped by one rule is still
//! seen by the others, `unique` included), then fail, drop and flag apply in that order.
//! Everything about a rule — its column's type, its bounds, its pattern — is checked at
//! creation: a bad rule is a config error naming its key, before any data flows.
//!
//! Only the columns the rules check enter the plugin (contract 0.2), and a `not_null` rule
//! reads its column only when the host counts nulls in it. The input columns go back by
//! reference: a `drop` is a row selection the host applies to them, and the two flag
//! columns are the only data the plugin sends.

mod rules;

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, BooleanArray, Scalar};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, Field, Schema};
use quiver_sdk::{Batch, Error, IntoOutputs, SchemaRef, Transform};
use rules::{Check, Op, Trouble};

/// Which check a rule runs.
#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum Kind {
    NotNull,
    Unique,
    Range,
    Regex,
    Allowed,
    Length,
    Compare,
}

impl Kind {
    /// The name of the check as written in the config.
    fn as_str(self) -> &'static str {
        match self {
            Kind::NotNull => "not_null",
            Kind::Unique => "unique",
            Kind::Range => "range",
            Kind::Regex => "regex",
            Kind::Allowed => "allowed",
            Kind::Length => "length",
            Kind::Compare => "compare",
        }
    }
}

/// What happens to a row that breaks a rule.
#[derive(serde::Deserialize, Clone, Copy, Default, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum Action {
    #[default]
    Fail,
    Drop,
    Flag,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleConfig {
    name: Option<String>,
    check: Kind,
    column: String,
    #[serde(default)]
    action: Action,
    min: Option<serde_json::Value>,
    max: Option<serde_json::Value>,
    pattern: Option<String>,
    values: Option<Vec<serde_json::Value>>,
    op: Option<Op>,
    other: Option<String>,
    max_values: Option<usize>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    rules: Vec<RuleConfig>,
    #[serde(default = "flag_column")]
    flag_column: String,
    #[serde(default = "reasons_column")]
    reasons_column: String,
}

fn flag_column() -> String {
    "_invalid".into()
}

fn reasons_column() -> String {
    "_invalid_rules".into()
}

/// Default bound on the distinct values a `unique` rule remembers.
const DEFAULT_MAX_VALUES: usize = 1_000_000;

/// One rule, ready to run.
struct Rule {
    name: String,
    /// `rule:<name>`.
    counter: String,
    /// Index of the checked (left-hand) column.
    column: usize,
    action: Action,
    check: Check,
    /// What the rule demands, for messages (`amount in [0, 100]`).
    describe: String,
}

struct Validate {
    schema: SchemaRef,
    rules: Vec<Rule>,
    /// Whether any rule flags (and the two columns are appended).
    flags: bool,
}

/// Which optional keys each check takes (besides name, check, column, action).
fn allowed_keys(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::NotNull => &[],
        Kind::Unique => &["max_values"],
        Kind::Range | Kind::Length => &["min", "max"],
        Kind::Regex => &["pattern"],
        Kind::Allowed => &["values"],
        Kind::Compare => &["op", "other"],
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8)
}

/// A non-negative integer bound of a `length` rule.
fn length_bound(v: Option<&serde_json::Value>, key: String) -> Result<Option<u64>, Error> {
    v.map(|v| {
        v.as_u64().ok_or_else(|| {
            Error::config(
                key,
                format!("{v} is not a length; give a whole number of characters (0 or more)"),
            )
        })
    })
    .transpose()
}

/// Build the check of rule `i`, checking every key it uses against `input`.
fn build(
    i: usize,
    c: &RuleConfig,
    column: usize,
    input: &Schema,
) -> Result<(Check, String), Error> {
    let key = |k: &str| format!("rules[{i}].{k}");
    let given = [
        ("min", c.min.is_some()),
        ("max", c.max.is_some()),
        ("pattern", c.pattern.is_some()),
        ("values", c.values.is_some()),
        ("op", c.op.is_some()),
        ("other", c.other.is_some()),
        ("max_values", c.max_values.is_some()),
    ];
    for (k, present) in given {
        if present && !allowed_keys(c.check).contains(&k) {
            return Err(Error::config(
                key(k),
                format!(
                    "`{k}` does not apply to a {} rule; remove it",
                    c.check.as_str()
                ),
            ));
        }
    }
    let field = input.field(column);
    let data_type = field.data_type();
    let name = &c.column;
    let text_only = || {
        if is_text(data_type) {
            Ok(())
        } else {
            Err(Error::config(
                key("column"),
                format!(
                    "column `{name}` has type {data_type}; a {} rule checks text (utf8) columns",
                    c.check.as_str()
                ),
            ))
        }
    };
    let bound = |v: &serde_json::Value, k: &str| -> Result<Scalar<ArrayRef>, Error> {
        quiver_sdk::scalar::scalar(v, data_type)
            .map(Scalar::new)
            .map_err(|m| Error::config(key(k), m))
    };
    Ok(match c.check {
        Kind::NotNull => (Check::NotNull, format!("`{name}` is not null")),
        Kind::Unique => {
            let max_values = c.max_values.unwrap_or(DEFAULT_MAX_VALUES);
            if max_values == 0 {
                return Err(Error::config(key("max_values"), "must be at least 1"));
            }
            let converter = rules::converter(data_type)
                .map_err(|e| Error::config(key("column"), e.to_string()))?;
            (
                Check::Unique {
                    converter,
                    seen: HashSet::new(),
                    pending: HashSet::new(),
                    max_values,
                },
                format!("`{name}` is unique in the stream"),
            )
        }
        Kind::Range => {
            if c.min.is_none() && c.max.is_none() {
                return Err(Error::config(
                    key("min"),
                    "a range rule needs min, max or both",
                ));
            }
            let min = c.min.as_ref().map(|v| bound(v, "min")).transpose()?;
            let max = c.max.as_ref().map(|v| bound(v, "max")).transpose()?;
            if let (Some(lo), Some(hi)) = (&min, &max) {
                let above =
                    arrow_ord::cmp::gt(lo, hi).map_err(|e| Error::internal(e.to_string()))?;
                if above.value(0) {
                    return Err(Error::config(key("min"), "min is greater than max"));
                }
            }
            let show =
                |v: &Option<serde_json::Value>| v.as_ref().map_or("…".into(), |v| v.to_string());
            (
                Check::Range { min, max },
                format!("`{name}` in [{}, {}]", show(&c.min), show(&c.max)),
            )
        }
        Kind::Regex => {
            text_only()?;
            let pattern = c
                .pattern
                .as_deref()
                .ok_or_else(|| Error::config(key("pattern"), "a regex rule needs a pattern"))?;
            let re = regex::Regex::new(pattern)
                .map_err(|e| Error::config(key("pattern"), e.to_string()))?;
            (Check::Regex(re), format!("`{name}` matches /{pattern}/"))
        }
        Kind::Allowed => {
            let values = c.values.as_deref().unwrap_or_default();
            if values.is_empty() {
                return Err(Error::config(
                    key("values"),
                    "an allowed rule needs a non-empty list of values",
                ));
            }
            let converter = rules::converter(data_type)
                .map_err(|e| Error::config(key("column"), e.to_string()))?;
            let mut set = HashSet::new();
            for (j, v) in values.iter().enumerate() {
                let one = quiver_sdk::scalar::scalar(v, data_type)
                    .map_err(|m| Error::config(format!("rules[{i}].values[{j}]"), m))?;
                set.extend(
                    rules::encode(&converter, &one).map_err(|e| Error::internal(e.to_string()))?,
                );
            }
            let list: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            (
                Check::Allowed {
                    converter,
                    values: set,
                },
                format!("`{name}` in {{{}}}", list.join(", ")),
            )
        }
        Kind::Length => {
            text_only()?;
            let min = length_bound(c.min.as_ref(), key("min"))?;
            let max = length_bound(c.max.as_ref(), key("max"))?;
            match (min, max) {
                (None, None) => {
                    return Err(Error::config(
                        key("min"),
                        "a length rule needs min, max or both",
                    ));
                }
                (Some(lo), Some(hi)) if lo > hi => {
                    return Err(Error::config(
                        key("min"),
                        format!("min {lo} is greater than max {hi}"),
                    ));
                }
                _ => {}
            }
            let show = |v: Option<u64>| v.map_or("…".into(), |v| v.to_string());
            (
                Check::Length { min, max },
                format!("length of `{name}` in [{}, {}]", show(min), show(max)),
            )
        }
        Kind::Compare => {
            let op = c.op.ok_or_else(|| {
                Error::config(
                    key("op"),
                    "a compare rule needs op (eq, ne, lt, le, gt, ge)",
                )
            })?;
            let other = c.other.as_deref().ok_or_else(|| {
                Error::config(key("other"), "a compare rule needs the other column")
            })?;
            let right = input.index_of(other).map_err(|_| {
                Error::config(key("other"), format!("no column `{other}` in the input"))
            })?;
            let right_type = input.field(right).data_type();
            if right_type != data_type {
                return Err(Error::config(
                    key("other"),
                    format!(
                        "column `{other}` has type {right_type} but `{name}` has type {data_type}; \
                         compare columns of one type (cast one with the shape plugin)"
                    ),
                ));
            }
            (
                Check::Compare { op, right },
                format!("`{name}` {} `{other}`", op.symbol()),
            )
        }
    })
}

impl Transform for Validate {
    type Config = Config;
    const CONFIG_SCHEMA: &'static str = include_str!("../config.schema.json");

    fn new(config: Config, input: SchemaRef) -> Result<Self, Error> {
        if config.rules.is_empty() {
            return Err(Error::config("rules", "no rule; list at least one"));
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(config.rules.len());
        for (i, c) in config.rules.iter().enumerate() {
            let column = input.index_of(&c.column).map_err(|_| {
                Error::config(
                    format!("rules[{i}].column"),
                    format!("no column `{}` in the input", c.column),
                )
            })?;
            let name = match &c.name {
                Some(n) if n.is_empty() => {
                    return Err(Error::config(
                        format!("rules[{i}].name"),
                        "the name is empty",
                    ));
                }
                Some(n) => n.clone(),
                None => match (&c.check, &c.other) {
                    (Kind::Compare, Some(o)) => {
                        format!("{}_{}_{o}", c.column, c.op.unwrap_or(Op::Eq).as_str())
                    }
                    (k, _) => format!("{}_{}", c.column, k.as_str()),
                },
            };
            if rules.iter().any(|r| r.name == name) {
                return Err(Error::config(
                    format!("rules[{i}].name"),
                    format!("two rules are named `{name}`; give each rule its own name"),
                ));
            }
            let (check, describe) = build(i, c, column, &input)?;
            rules.push(Rule {
                counter: format!("rule:{name}"),
                name,
                column,
                action: c.action,
                check,
                describe,
            });
        }
        let flags = rules.iter().any(|r| r.action == Action::Flag);
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        if flags {
            for (key, name) in [
                ("flag_column", &config.flag_column),
                ("reasons_column", &config.reasons_column),
            ] {
                if name.is_empty() || fields.iter().any(|f| f.name() == name) {
                    return Err(Error::config(
                        key,
                        format!("`{name}` is empty or already a column; choose another name"),
                    ));
                }
                fields.push(Field::new(
                    name,
                    if key == "flag_column" {
                        DataType::Boolean
                    } else {
                        DataType::Utf8
                    },
                    key == "reasons_column",
                ));
            }
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, input.metadata().clone()));
        Ok(Self {
            schema,
            rules,
            flags,
        })
    }

    fn output_schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn process(&mut self, batch: Batch<'_>) -> Result<impl IntoOutputs, Error> {
        let n = batch.num_rows();
        let mut drop = vec![false; n];
        let mut flagged: Vec<Vec<&str>> = vec![Vec::new(); if self.flags { n } else { 0 }];
        // Counts of the drop and flag rules, added to the host counters once the call has
        // succeeded (a failed call's rows come back and are counted then).
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for rule in &mut self.rules {
            let name = batch.schema_ref().field(rule.column).name().clone();
            // A column with no nulls breaks no `not_null` rule: the host's count says so
            // without the column entering the plugin.
            if matches!(rule.check, Check::NotNull) && batch.host(rule.column)?.null_count() == 0 {
                continue;
            }
            let column = batch.try_column(rule.column)?;
            let right = match &rule.check {
                Check::Compare { right, .. } => Some(batch.try_column(*right)?),
                _ => None,
            };
            let failed = rule.check.run(column, right).map_err(|t| match t {
                Trouble::Arrow(e) => Error::internal(format!("rule `{}`: {e}", rule.name)),
                Trouble::TooManyValues { row, max_values } => Error::data_at(
                    Some(&name),
                    Some(row as u64),
                    format!(
                        "rule `{}` has remembered {max_values} distinct values, its max_values; \
                         raise max_values (memory grows with it) or check uniqueness elsewhere",
                        rule.name
                    ),
                ),
            })?;
            let count = failed.iter().filter(|&&f| f).count();
            if count == 0 {
                continue;
            }
            match rule.action {
                Action::Fail => {
                    // The host keeps the counters of a call that fails naming a row, and
                    // re-sends the other rows: count that one row, for this rule only.
                    quiver_sdk::host::counter_add(&rule.counter, 1);
                    let row = failed.iter().position(|&f| f).unwrap_or(0);
                    let value = match right {
                        Some(right) => format!("{}` vs `{}", show(column, row), show(right, row)),
                        None => show(column, row),
                    };
                    return Err(Error::data_at(
                        Some(&name),
                        Some(row as u64),
                        format!(
                            "rule `{}` ({}) failed for value `{}`; fix the data, or set the rule's \
                             action to drop or flag",
                            rule.name, rule.describe, value
                        ),
                    ));
                }
                Action::Drop => {
                    counts.push((&rule.counter, count));
                    for (d, f) in drop.iter_mut().zip(&failed) {
                        *d |= f;
                    }
                }
                Action::Flag => {
                    counts.push((&rule.counter, count));
                    for (names, f) in flagged.iter_mut().zip(&failed) {
                        if *f {
                            names.push(&rule.name);
                        }
                    }
                }
            }
        }
        // Every input column by reference; the flag columns appended; dropped rows
        // deselected (the host filters every column, flags included).
        let mut out = batch.output();
        if self.flags {
            let invalid: BooleanArray = flagged.iter().map(|f| Some(!f.is_empty())).collect();
            let mut reasons = StringBuilder::new();
            for f in &flagged {
                if f.is_empty() {
                    reasons.append_null();
                } else {
                    reasons.append_value(f.join(","));
                }
            }
            out = out
                .push(Arc::new(invalid))?
                .push(Arc::new(reasons.finish()))?;
        }
        if drop.contains(&true) {
            let keep: BooleanArray = drop.iter().map(|d| Some(!d)).collect();
            out = out.filter(&keep)?;
        }
        // The call succeeded: only now are the counts added and do `unique` rules remember
        // this batch's values. A failed call changes no state, so the rows the host re-sends
        // after isolating a bad row are judged and counted exactly as the first time.
        for (counter, count) in counts {
            quiver_sdk::host::counter_add(counter, count as u64);
        }
        for rule in &mut self.rules {
            rule.check.commit();
        }
        Ok(out)
    }
}

/// The value at `row`, as text for a message (at most 60 characters).
fn show(column: &ArrayRef, row: usize) -> String {
    if column.is_null(row) {
        return "null".into();
    }
    let text = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())
        .map(|f| f.value(row).to_string())
        .unwrap_or_else(|_| "?".into());
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

quiver_sdk::export_plugin!(Validate);
