//! [`wit_type_conversions!`]: the mapping between [`TypeNode`](super::TypeNode) /
//! [`FieldNode`](super::FieldNode) and the WIT types of `quiver:transform@0.2.0`
//! (`type-node`, `field`, `time-unit`, …), written once for both sides of the boundary.
//!
//! The host (wasmtime's `bindgen!`) and the guest SDK (wit-bindgen's `generate!`) each have
//! their own generated Rust types for the same WIT, with the same names and shapes. The
//! macro is instantiated in each, with the path of its generated `types` module, and expands
//! to `node_to_wit`, `node_from_wit`, `field_to_wit` and `field_from_wit` there.

/// Expand the conversions between `quiver_columnar::tree` nodes and the WIT `types`
/// module at `$wit` (a path to a generated `quiver:transform@0.2.0` `types` module).
#[macro_export]
macro_rules! wit_type_conversions {
    ($wit:path) => {
        use $wit as __wit;

        fn unit_to_wit(u: ::arrow_schema::TimeUnit) -> __wit::TimeUnit {
            match u {
                ::arrow_schema::TimeUnit::Second => __wit::TimeUnit::Second,
                ::arrow_schema::TimeUnit::Millisecond => __wit::TimeUnit::Millisecond,
                ::arrow_schema::TimeUnit::Microsecond => __wit::TimeUnit::Microsecond,
                ::arrow_schema::TimeUnit::Nanosecond => __wit::TimeUnit::Nanosecond,
            }
        }

        fn unit_from_wit(u: __wit::TimeUnit) -> ::arrow_schema::TimeUnit {
            match u {
                __wit::TimeUnit::Second => ::arrow_schema::TimeUnit::Second,
                __wit::TimeUnit::Millisecond => ::arrow_schema::TimeUnit::Millisecond,
                __wit::TimeUnit::Microsecond => ::arrow_schema::TimeUnit::Microsecond,
                __wit::TimeUnit::Nanosecond => ::arrow_schema::TimeUnit::Nanosecond,
            }
        }

        /// The WIT form of one type node.
        fn node_to_wit(n: &$crate::tree::TypeNode) -> __wit::TypeNode {
            use __wit::TypeNode as W;
            use $crate::tree::{IndexType as I, TypeNode as T};
            let decimal = |p: u8, s: i8| __wit::DecimalType {
                precision: p,
                scale: s,
            };
            // Sizes are i32 in arrow and u32 in WIT; a negative size never leaves
            // `flatten_*` (it refuses it), so 0 is only a defensive value.
            let size = |n: i32| u32::try_from(n).unwrap_or(0);
            match n {
                T::Null => W::Null,
                T::Boolean => W::Boolean,
                T::Int8 => W::Int8,
                T::Int16 => W::Int16,
                T::Int32 => W::Int32,
                T::Int64 => W::Int64,
                T::UInt8 => W::Uint8,
                T::UInt16 => W::Uint16,
                T::UInt32 => W::Uint32,
                T::UInt64 => W::Uint64,
                T::Float16 => W::Float16,
                T::Float32 => W::Float32,
                T::Float64 => W::Float64,
                T::Utf8 => W::Utf8,
                T::LargeUtf8 => W::LargeUtf8,
                T::Binary => W::Binary,
                T::LargeBinary => W::LargeBinary,
                T::FixedSizeBinary(n) => W::FixedSizeBinary(size(*n)),
                T::Date32 => W::Date32,
                T::Date64 => W::Date64,
                T::Timestamp(u, tz) => W::Timestamp(__wit::TimestampType {
                    unit: unit_to_wit(*u),
                    timezone: tz.as_ref().map(|t| t.to_string()),
                }),
                T::Time32(u) => W::Time32(unit_to_wit(*u)),
                T::Time64(u) => W::Time64(unit_to_wit(*u)),
                T::Duration(u) => W::Duration(unit_to_wit(*u)),
                T::Interval(u) => W::Interval(match u {
                    ::arrow_schema::IntervalUnit::YearMonth => __wit::IntervalUnit::YearMonth,
                    ::arrow_schema::IntervalUnit::DayTime => __wit::IntervalUnit::DayTime,
                    ::arrow_schema::IntervalUnit::MonthDayNano => __wit::IntervalUnit::MonthDayNano,
                }),
                T::Decimal32(p, s) => W::Decimal32(decimal(*p, *s)),
                T::Decimal64(p, s) => W::Decimal64(decimal(*p, *s)),
                T::Decimal128(p, s) => W::Decimal128(decimal(*p, *s)),
                T::Decimal256(p, s) => W::Decimal256(decimal(*p, *s)),
                T::List => W::List,
                T::LargeList => W::LargeList,
                T::FixedSizeList(n) => W::FixedSizeList(size(*n)),
                T::Struct(n) => W::Struct(*n),
                T::Map(sorted) => W::Map(*sorted),
                T::Dictionary(i) => W::Dictionary(match i {
                    I::Int8 => __wit::IndexType::Int8,
                    I::Int16 => __wit::IndexType::Int16,
                    I::Int32 => __wit::IndexType::Int32,
                    I::Int64 => __wit::IndexType::Int64,
                    I::UInt8 => __wit::IndexType::Uint8,
                    I::UInt16 => __wit::IndexType::Uint16,
                    I::UInt32 => __wit::IndexType::Uint32,
                    I::UInt64 => __wit::IndexType::Uint64,
                }),
            }
        }

        /// One type node from its WIT form (sizes past i32 become -1: refused later by
        /// `unflatten_fields`).
        fn node_from_wit(n: __wit::TypeNode) -> $crate::tree::TypeNode {
            use __wit::TypeNode as W;
            use $crate::tree::{IndexType as I, TypeNode as T};
            let size = |n: u32| i32::try_from(n).unwrap_or(-1);
            match n {
                W::Null => T::Null,
                W::Boolean => T::Boolean,
                W::Int8 => T::Int8,
                W::Int16 => T::Int16,
                W::Int32 => T::Int32,
                W::Int64 => T::Int64,
                W::Uint8 => T::UInt8,
                W::Uint16 => T::UInt16,
                W::Uint32 => T::UInt32,
                W::Uint64 => T::UInt64,
                W::Float16 => T::Float16,
                W::Float32 => T::Float32,
                W::Float64 => T::Float64,
                W::Utf8 => T::Utf8,
                W::LargeUtf8 => T::LargeUtf8,
                W::Binary => T::Binary,
                W::LargeBinary => T::LargeBinary,
                W::FixedSizeBinary(n) => T::FixedSizeBinary(size(n)),
                W::Date32 => T::Date32,
                W::Date64 => T::Date64,
                W::Timestamp(t) => T::Timestamp(
                    unit_from_wit(t.unit),
                    t.timezone.map(::std::sync::Arc::from),
                ),
                W::Time32(u) => T::Time32(unit_from_wit(u)),
                W::Time64(u) => T::Time64(unit_from_wit(u)),
                W::Duration(u) => T::Duration(unit_from_wit(u)),
                W::Interval(u) => T::Interval(match u {
                    __wit::IntervalUnit::YearMonth => ::arrow_schema::IntervalUnit::YearMonth,
                    __wit::IntervalUnit::DayTime => ::arrow_schema::IntervalUnit::DayTime,
                    __wit::IntervalUnit::MonthDayNano => ::arrow_schema::IntervalUnit::MonthDayNano,
                }),
                W::Decimal32(d) => T::Decimal32(d.precision, d.scale),
                W::Decimal64(d) => T::Decimal64(d.precision, d.scale),
                W::Decimal128(d) => T::Decimal128(d.precision, d.scale),
                W::Decimal256(d) => T::Decimal256(d.precision, d.scale),
                W::List => T::List,
                W::LargeList => T::LargeList,
                W::FixedSizeList(n) => T::FixedSizeList(size(n)),
                W::Struct(n) => T::Struct(n),
                W::Map(sorted) => T::Map(sorted),
                W::Dictionary(i) => T::Dictionary(match i {
                    __wit::IndexType::Int8 => I::Int8,
                    __wit::IndexType::Int16 => I::Int16,
                    __wit::IndexType::Int32 => I::Int32,
                    __wit::IndexType::Int64 => I::Int64,
                    __wit::IndexType::Uint8 => I::UInt8,
                    __wit::IndexType::Uint16 => I::UInt16,
                    __wit::IndexType::Uint32 => I::UInt32,
                    __wit::IndexType::Uint64 => I::UInt64,
                }),
            }
        }

        /// The WIT form of a field node.
        fn field_to_wit(f: $crate::tree::FieldNode) -> __wit::Field {
            __wit::Field {
                name: f.name,
                data_type: node_to_wit(&f.node),
                nullable: f.nullable,
            }
        }

        /// A field node from its WIT form.
        fn field_from_wit(f: __wit::Field) -> $crate::tree::FieldNode {
            $crate::tree::FieldNode {
                name: f.name,
                node: node_from_wit(f.data_type),
                nullable: f.nullable,
            }
        }
    };
}
