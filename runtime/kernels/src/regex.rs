//! `regex_match` and `regex_replace`: the `regex` crate (linear time in the input, no
//! backtracking) with a bounded compiled size.
//!
//! arrow-string's regexp kernels compile patterns with `Regex::new`, whose 10 MiB default
//! size limit is the host's memory, not the plugin's; and it has no replace kernel. So the
//! pattern is compiled here with [`Budget::max_regex_bytes`] as both the program and the
//! lazy-DFA size limit, and replacement writes through [`StringOut`], one match at a time,
//! stopping at the output bound instead of building an oversized string first.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, GenericStringArray, OffsetSizeTrait};
use arrow_schema::DataType;
use regex::{Regex, RegexBuilder};

use crate::KernelError;
use crate::budget::{Budget, StringOut};
use crate::strings::{require_string, value_bytes};

/// `pattern` compiled within `budget.max_regex_bytes`.
///
/// # Errors
/// [`KernelError::Invalid`] for a pattern that does not parse or compiles past the limit.
fn compile(kernel: &str, pattern: &str, budget: &Budget) -> Result<Regex, KernelError> {
    RegexBuilder::new(pattern)
        .size_limit(budget.max_regex_bytes)
        .dfa_size_limit(budget.max_regex_bytes)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => KernelError::invalid(
                kernel,
                format!(
                    "the regex {pattern:?} compiles to more than {limit} bytes, the limit \
                     (max_regex_bytes); simplify it (bounded repetitions such as \\w{{1000}} \
                     and large Unicode classes are what grow it)"
                ),
            ),
            other => KernelError::invalid(kernel, format!("invalid regex {pattern:?}: {other}")),
        })
}

/// Whether each string has a match of `pattern` anywhere (`.str.contains(p)`, Python's
/// `re.search`; anchor with `^…$` for a full match). Nulls stay null. The syntax is the
/// `regex` crate's (Perl-like, no look-around or back-references).
///
/// # Errors
/// [`KernelError::Invalid`] when `a` is not a string column, or for a pattern that does
/// not parse or compiles past `budget.max_regex_bytes`.
pub fn regex_match(
    a: &ArrayRef,
    pattern: &str,
    budget: &Budget,
) -> Result<BooleanArray, KernelError> {
    const KERNEL: &str = "regex_match";
    require_string(KERNEL, a)?;
    let re = compile(KERNEL, pattern, budget)?;
    Ok(match a.data_type() {
        DataType::Utf8 => BooleanArray::from_unary(a.as_string::<i32>(), |s| re.is_match(s)),
        _ => BooleanArray::from_unary(a.as_string::<i64>(), |s| re.is_match(s)),
    })
}

/// Each string with the first match of `pattern` (every match with `all`) replaced by
/// `replacement` (`.str.replace(p, r, regex=True)`, `n=1` without `all`). In the
/// replacement `$1`, `${name}` insert groups and `$$` is a dollar (the `regex` crate's
/// syntax, as in Polars; pandas writes `\1`). Nulls stay null.
///
/// # Errors
/// As [`regex_match`], plus [`KernelError::Limit`] when the output passes
/// `budget.max_output_bytes` — stopped at the match that passes it.
pub fn regex_replace(
    a: &ArrayRef,
    pattern: &str,
    replacement: &str,
    all: bool,
    budget: &Budget,
) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "regex_replace";
    require_string(KERNEL, a)?;
    let re = compile(KERNEL, pattern, budget)?;
    match a.data_type() {
        DataType::Utf8 => replace_of(KERNEL, a.as_string::<i32>(), &re, replacement, all, budget),
        _ => replace_of(KERNEL, a.as_string::<i64>(), &re, replacement, all, budget),
    }
}

fn replace_of<O: OffsetSizeTrait>(
    kernel: &str,
    a: &GenericStringArray<O>,
    re: &Regex,
    replacement: &str,
    all: bool,
    budget: &Budget,
) -> Result<ArrayRef, KernelError> {
    let mut out = StringOut::<O>::new(kernel, budget, a.len(), value_bytes(a))?;
    let mut value = String::new();
    for s in a.iter() {
        let Some(s) = s else {
            out.push_null();
            continue;
        };
        value.clear();
        // The loop of `Regex::replacen`, with the size checked after each match so one
        // value cannot grow far past the bound before `push` sees it.
        let mut last = 0;
        for caps in re.captures_iter(s).take(if all { usize::MAX } else { 1 }) {
            let Some(m) = caps.get(0) else { continue };
            value.push_str(&s[last..m.start()]);
            caps.expand(replacement, &mut value);
            last = m.end();
            if value.len() > budget.max_output_bytes {
                break;
            }
        }
        value.push_str(&s[last..]);
        out.push(kernel, &value)?;
    }
    Ok(out.finish())
}
