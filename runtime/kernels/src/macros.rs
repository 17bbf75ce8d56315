//! Type dispatch: run one generic body for each arrow integer or float type. Arrow's own
//! `downcast_*!` macros dispatch on arrays; these dispatch on a `DataType` and bind a type
//! alias, which is what the generic helpers of this crate need.

/// `int_dispatch!(data_type, T => body, else)`: `body` with `T` bound to the arrow integer
/// type (`Int8Type` … `UInt64Type`) of `data_type`, or `else` for any other type.
macro_rules! int_dispatch {
    ($dt:expr, $T:ident => $body:expr, _ => $other:expr) => {{
        use arrow_array::types as t;
        match $dt {
            arrow_schema::DataType::Int8 => {
                type $T = t::Int8Type;
                $body
            }
            arrow_schema::DataType::Int16 => {
                type $T = t::Int16Type;
                $body
            }
            arrow_schema::DataType::Int32 => {
                type $T = t::Int32Type;
                $body
            }
            arrow_schema::DataType::Int64 => {
                type $T = t::Int64Type;
                $body
            }
            arrow_schema::DataType::UInt8 => {
                type $T = t::UInt8Type;
                $body
            }
            arrow_schema::DataType::UInt16 => {
                type $T = t::UInt16Type;
                $body
            }
            arrow_schema::DataType::UInt32 => {
                type $T = t::UInt32Type;
                $body
            }
            arrow_schema::DataType::UInt64 => {
                type $T = t::UInt64Type;
                $body
            }
            _ => $other,
        }
    }};
}

/// `float_dispatch!(data_type, T => body, else)`: as [`int_dispatch`] for `Float32` and
/// `Float64` (Float16 is widened to Float32 before it gets here).
macro_rules! float_dispatch {
    ($dt:expr, $T:ident => $body:expr, _ => $other:expr) => {{
        use arrow_array::types as t;
        match $dt {
            arrow_schema::DataType::Float32 => {
                type $T = t::Float32Type;
                $body
            }
            arrow_schema::DataType::Float64 => {
                type $T = t::Float64Type;
                $body
            }
            _ => $other,
        }
    }};
}
