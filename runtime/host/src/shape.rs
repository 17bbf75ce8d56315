//! The shape of a component's code, checked before anything compiles it.
//!
//! Cranelift's compile time grows faster than linearly in some dimensions of one function:
//! a 0.4–1 MB component whose single function holds 25k / 50k / 100k values on the operand
//! stack took 7.5 s / 33.5 s / more than 150 s to compile (issue 18, 2 cores); measured
//! again here, a function pushing n loaded or `f64` values compiles in 76 ms / 0.29 s / 1.1 s
//! at n = 2.5k / 5k / 10k (quadratic), while n integer constants, n live locals or n nested
//! blocks stay linear (6–140 ms at 10k–50k). Those shapes
//! never come out of a compiler for real code, so the host measures every core function of
//! a component (in every nested module) with `wasmparser` — the validator wasmtime itself
//! uses, in one linear pass — and refuses an outlier before compiling, naming the function
//! and the limit. What the limits do not catch (many functions, each under every limit)
//! costs compile time roughly linear in the component's size, which the upload size limit
//! bounds and the compile budget (`compile.rs`) cuts off.
//!
//! The defaults sit an order of magnitude above the largest value measured on real plugins
//! (docs/security.md lists the measurements: the ten Rust first-party plugins, a
//! componentize-py component and the StarlingMonkey engine every JavaScript plugin embeds).

use wasmparser::{FuncValidatorAllocations, Parser, ValidPayload, Validator, WasmFeatures};

/// Limits on the shape of each core function of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeLimits {
    /// Bytes of one function body.
    pub function_bytes: u64,
    /// Locals declared by one function (parameters not included).
    pub locals: u64,
    /// Values on one function's operand stack at any point.
    pub operand_stack: u32,
    /// Blocks, loops and ifs open at once in one function.
    pub nesting: u32,
}

impl Default for ShapeLimits {
    fn default() -> Self {
        Self {
            function_bytes: 4 << 20,
            locals: 50_000,
            operand_stack: 1_000,
            nesting: 10_000,
        }
    }
}

/// The largest value of each dimension over all functions of a component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Core functions with a body.
    pub functions: u64,
    /// Bytes of the largest function body.
    pub function_bytes: u64,
    /// Most locals in one function.
    pub locals: u64,
    /// Highest operand stack.
    pub operand_stack: u32,
    /// Deepest nesting.
    pub nesting: u32,
}

/// Why a component's shape is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// Not valid WebAssembly at all.
    #[error("{0}")]
    Invalid(String),
    /// Valid, but one function is past a limit.
    #[error(
        "core function {function} (at byte {offset:#x}) has {what} of {value}, past the \
         limit of {limit}: code of this shape takes minutes of compile time and never comes \
         out of a compiler for real code"
    )]
    TooLarge {
        /// The function's index within its module's code section (0-based).
        function: u64,
        /// Its body's byte offset in the component.
        offset: usize,
        /// Which dimension.
        what: &'static str,
        /// The value found (at least; the pass stops at the first excess).
        value: u64,
        /// The limit.
        limit: u64,
    },
}

/// Measure every core function of `bytes` (a component or a core module), stopping at the
/// first dimension past `limits`.
///
/// # Errors
/// [`ShapeError::Invalid`] when `bytes` do not validate, [`ShapeError::TooLarge`] naming
/// the first function past a limit.
pub fn check(bytes: &[u8], limits: &ShapeLimits) -> Result<Shape, ShapeError> {
    let invalid = |e: wasmparser::BinaryReaderError| ShapeError::Invalid(e.to_string());
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    let mut shape = Shape::default();
    let mut allocs = FuncValidatorAllocations::default();
    let mut index_in_module = 0u64;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(invalid)?;
        if let wasmparser::Payload::CodeSectionStart { .. } = payload {
            index_in_module = 0;
        }
        let ValidPayload::Func(to_validate, body) = validator.payload(&payload).map_err(invalid)?
        else {
            continue;
        };
        let function = index_in_module;
        index_in_module += 1;
        shape.functions += 1;
        let offset = body.range().start;
        let too_large = |what, value: u64, limit: u64| ShapeError::TooLarge {
            function,
            offset,
            what,
            value,
            limit,
        };
        let size = body.range().len() as u64;
        if size > limits.function_bytes {
            return Err(too_large("a body", size, limits.function_bytes));
        }
        shape.function_bytes = shape.function_bytes.max(size);

        let mut func = to_validate.into_validator(allocs);
        let mut reader = body.get_binary_reader();
        let mut locals = 0u64;
        for _ in 0..reader.read_var_u32().map_err(invalid)? {
            let at = reader.original_position();
            let count: u32 = reader.read().map_err(invalid)?;
            locals += u64::from(count);
            if locals > limits.locals {
                return Err(too_large("locals", locals, limits.locals));
            }
            let ty = reader.read().map_err(invalid)?;
            func.define_locals(at, count, ty).map_err(invalid)?;
        }
        shape.locals = shape.locals.max(locals);
        while !reader.eof() {
            let at = reader.original_position();
            reader
                .visit_operator(&mut func.visitor(at))
                .map_err(invalid)?
                .map_err(invalid)?;
            let stack = func.operand_stack_height();
            if stack > limits.operand_stack {
                return Err(too_large(
                    "an operand stack",
                    stack.into(),
                    limits.operand_stack.into(),
                ));
            }
            let nesting = func.control_stack_height();
            if nesting > limits.nesting {
                return Err(too_large(
                    "a nesting",
                    nesting.into(),
                    limits.nesting.into(),
                ));
            }
            shape.operand_stack = shape.operand_stack.max(stack);
            shape.nesting = shape.nesting.max(nesting);
        }
        reader
            .finish_expression(&func.visitor(reader.original_position()))
            .map_err(invalid)?;
        allocs = func.into_allocations();
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module_with(body: &str) -> Vec<u8> {
        wat::parse_str(format!("(component (core module (func {body})))")).unwrap()
    }

    #[test]
    fn measures_an_ordinary_function() {
        let shape = check(
            &module_with(
                "(local i32 i64) (block (loop (br 1))) i32.const 1 i32.const 2 i32.add drop",
            ),
            &ShapeLimits::default(),
        )
        .unwrap();
        assert_eq!(shape.functions, 1);
        assert_eq!(shape.locals, 2);
        assert_eq!(shape.operand_stack, 2);
        // The function's own frame, a block and a loop.
        assert_eq!(shape.nesting, 3);
    }

    #[test]
    fn refuses_a_deep_operand_stack_naming_the_function() {
        let n = 1_200;
        let body = format!(
            "(result i32) {} {}",
            "i32.const 1 ".repeat(n),
            "i32.add ".repeat(n - 1)
        );
        let bytes =
            wat::parse_str(format!("(component (core module (func) (func {body})))")).unwrap();
        let err = check(&bytes, &ShapeLimits::default()).unwrap_err();
        let ShapeError::TooLarge {
            function,
            what,
            value,
            limit,
            ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(
            (*function, *what, *value, *limit),
            (1, "an operand stack", 1_001, 1_000)
        );
        assert!(err.to_string().contains("core function 1"), "{err}");
    }

    #[test]
    fn refuses_many_locals_and_deep_nesting() {
        let locals = check(
            &module_with(&format!("(local {})", "i64 ".repeat(10))),
            &ShapeLimits {
                locals: 9,
                ..ShapeLimits::default()
            },
        )
        .unwrap_err();
        assert!(locals.to_string().contains("locals of 10"), "{locals}");
        let nesting = check(
            &module_with(&format!("{}{}", "(block ".repeat(20), ")".repeat(20))),
            &ShapeLimits {
                nesting: 10,
                ..ShapeLimits::default()
            },
        )
        .unwrap_err();
        assert!(nesting.to_string().contains("nesting of 11"), "{nesting}");
    }

    #[test]
    fn reports_invalid_code() {
        let bytes = wat::parse_str("(component (core module (func)))").unwrap();
        let err = check(&bytes[..bytes.len() - 2], &ShapeLimits::default()).unwrap_err();
        assert!(matches!(err, ShapeError::Invalid(_)), "{err}");
    }
}
