// Types of the Quiver JavaScript SDK (contract quiver:transform@0.2.0), for editors and
// type checkers. The plugin imports the SDK as './quiver-sdk.js'; point a jsconfig/tsconfig
// `paths` entry for it here, or import from '@quiver/sdk'.

/** A type node as the bindings give it: `{ tag: 'int64' }`, `{ tag: 'timestamp', val: {...} }`. */
export interface TypeNode { tag: string; val?: unknown }
/** One node of a type or schema in pre-order. */
export interface FieldNode { name: string; dataType: TypeNode; nullable: boolean }
/** A type: its pre-order nodes (a flat type has one). */
export type DataType = FieldNode[];
/** What a type may be given as: a tag ('float64'), a node, or the node list. */
export type TypeLike = string | TypeNode | DataType;
/** A value a kernel can broadcast against a column. */
export type ScalarLike = number | bigint | string | boolean | null | Uint8Array | Date | ExplicitScalar;
export interface ExplicitScalar { readonly wit: unknown }
/** Either side of a binary kernel. */
export type Operand = Col | ScalarLike;
export type Encoding = 'hex' | 'base64url' | 'raw';

export interface SchemaField { name: string; dataType: TypeNode; nullable: boolean; nodes: DataType }

export class Schema {
  constructor(columns?: (DataType | { nodes: DataType })[], metadata?: [string, string][]);
  static fromWit(s: { fields: FieldNode[]; metadata: [string, string][] }): Schema;
  readonly fields: SchemaField[];
  readonly metadata: [string, string][];
  readonly length: number;
  readonly names: string[];
  indexOf(name: string): number;
  field(nameOrIndex: string | number): SchemaField | undefined;
  withColumn(name: string, type: TypeLike, nullable?: boolean): Schema;
  drop(...names: string[]): Schema;
  select(...names: string[]): Schema;
  rename(mapping: Record<string, string>): Schema;
  toWit(): { fields: FieldNode[]; metadata: [string, string][] };
}

export function field(name: string, type: TypeLike, nullable?: boolean): DataType;
export const Type: {
  boolean(): DataType; int8(): DataType; int16(): DataType; int32(): DataType; int64(): DataType;
  uint8(): DataType; uint16(): DataType; uint32(): DataType; uint64(): DataType;
  float32(): DataType; float64(): DataType; utf8(): DataType; largeUtf8(): DataType;
  binary(): DataType; date32(): DataType;
  timestamp(unit?: 's' | 'ms' | 'us' | 'ns', timezone?: string | null): DataType;
  decimal128(precision: number, scale: number): DataType;
};
export const Scalar: {
  null(): ExplicitScalar; float64(v: number): ExplicitScalar; int64(v: number | bigint): ExplicitScalar;
  uint64(v: number | bigint): ExplicitScalar; utf8(v: string): ExplicitScalar; date32(days: number): ExplicitScalar;
  timestamp(value: number | bigint, unit?: 'second' | 'millisecond' | 'microsecond' | 'nanosecond', timezone?: string): ExplicitScalar;
};
export function typeTag(t: TypeLike): string;
export function typeName(t: TypeLike): string;
export function isInteger(t: TypeLike): boolean;
export function isSignedInt(t: TypeLike): boolean;
export function isUnsignedInt(t: TypeLike): boolean;
export function isFloat(t: TypeLike): boolean;
export function isNumeric(t: TypeLike): boolean;
export function isString(t: TypeLike): boolean;
export function bit(bitmap: Uint8Array, i: number): number;

/** A host column by handle; every method but the readers runs a host kernel. */
export class Col {
  static fromValues(values: (number | bigint | string | boolean | null)[], type?: TypeLike | null, name?: string | null): Col;
  static fromTyped(typed: ArrayBufferView, type: TypeLike, validity?: Uint8Array | null, name?: string | null): Col;
  /** The column the expression started from, named in errors. */
  name: string | null;
  readonly type: string;
  dataType(): DataType;
  len(): number;
  nullCount(): number;
  /** Typed array of the values (the column crosses into the plugin). */
  values(): Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array | Float32Array | Float64Array;
  validity(): Uint8Array | null;
  toArray(): (number | bigint | string | boolean | Uint8Array | null)[];

  add(x: Operand): Col; sub(x: Operand): Col; mul(x: Operand): Col; div(x: Operand): Col;
  mod(x: Operand): Col; pow(x: Operand): Col;
  clip(min?: ScalarLike, max?: ScalarLike): Col;
  neg(): Col; abs(): Col; sqrt(): Col; exp(): Col; log(): Col; log10(): Col; log2(): Col;
  floor(): Col; ceil(): Col; sign(): Col; round(decimals?: number): Col;
  eq(x: Operand): Col; ne(x: Operand): Col; lt(x: Operand): Col; le(x: Operand): Col; gt(x: Operand): Col; ge(x: Operand): Col;
  and(m: Col): Col; or(m: Col): Col; xor(m: Col): Col; andNot(m: Col): Col; not(): Col;
  isNull(): Col; isNotNull(): Col; fillNull(value: Operand): Col; coalesce(...others: Operand[]): Col;
  cast(type: TypeLike, options?: { safe?: boolean }): Col;
  filter(mask: Col): Col; take(indices: Col | number[]): Col; slice(offset: number, length: number): Col;
  isIn(values: Col | (number | bigint | string | boolean | null)[]): Col;
  readonly str: StrOps;
  readonly dt: DtOps;
  sha256(options?: { encoding?: Encoding }): Col;
  hmacSha256(keyFile: string, options?: { encoding?: Encoding }): Col;
  count(): number; countAll(): number; sum(): number | bigint | null; min(): unknown; max(): unknown;
  mean(): number | null; std(): number | null; var(): number | null; nunique(): number;
}

export class StrOps {
  len(): Col; lower(): Col; upper(): Col; strip(): Col; lstrip(): Col; rstrip(): Col;
  contains(s: string, options?: { regex?: boolean }): Col; startsWith(s: string): Col; endsWith(s: string): Col;
  match(pattern: string): Col; replace(pattern: string, replacement: string, options?: { all?: boolean }): Col;
  slice(start: number, length?: number | null): Col; concat(parts: (Col | string)[], sep?: string): Col;
}

export interface TzOption { tz?: string }
export class DtOps {
  year(o?: TzOption): Col; quarter(o?: TzOption): Col; month(o?: TzOption): Col; day(o?: TzOption): Col;
  dayOfWeek(o?: TzOption): Col; dayOfYear(o?: TzOption): Col; hour(o?: TzOption): Col; minute(o?: TzOption): Col;
  second(o?: TzOption): Col; millisecond(o?: TzOption): Col; microsecond(o?: TzOption): Col;
  nanosecond(o?: TzOption): Col; week(o?: TzOption): Col;
}

/** The batch a `process` call gets and the output it returns. */
export class Frame {
  static of(columns: Record<string, Col>, rows: number): Frame;
  readonly schema: Schema | null;
  readonly numRows: number;
  readonly columns: string[];
  col(nameOrIndex: string | number): Col;
  has(name: string): boolean;
  withColumn(name: string, col: Col): Frame;
  drop(...names: string[]): Frame;
  select(...names: string[]): Frame;
  rename(mapping: Record<string, string>): Frame;
  filter(mask: Col): Frame;
}

export class QuiverError extends Error { payload: unknown }
export function configError(key: string, message: string): QuiverError;
export function dataError(message: string, column?: string | null, row?: number | bigint | null): QuiverError;
export function internalError(message: string): QuiverError;

export function log(level: 'trace' | 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown> | [string, unknown][]): void;
export function counterAdd(name: string, delta: number | bigint): void;

export type Json = null | boolean | number | bigint | string | Json[] | { [k: string]: Json };
export function parseJson(text: string): Json;
export function keyPath(path: string, key: string | number): string;
export function checkObject(obj: Json, path: string, allowed: string[], required?: string[]): Record<string, Json>;
export function getString<D>(obj: Record<string, Json>, path: string, key: string, def?: D): string | D;
export function getNumber<D>(obj: Record<string, Json>, path: string, key: string, def?: D): number | D;
export function getArray<D>(obj: Record<string, Json>, path: string, key: string, def?: D): Json[] | D;
export function getEnum<D>(obj: Record<string, Json>, path: string, key: string, choices: string[], def?: D): string | D;
export function jsonText(v: Json): string;

export class Transform<C = Json> {
  constructor(config: C, input: Schema);
  readonly config: C;
  readonly input: Schema;
  outputSchema(): Schema;
  process(batch: Frame): Frame | Frame[] | null | undefined;
  finish(): Frame | Frame[] | null | undefined;
}
export interface PluginMeta { name: string; version: string; description?: string; configSchema?: string | object }
export function definePlugin(meta: PluginMeta, transform: new (config: any, input: Schema) => Transform<any>): unknown;
