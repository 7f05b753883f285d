// The Go types request bodies decode into, as schemas (str(), int64(), slice(), struct(), …): what each
// accepts, reflect's name for it in error messages, and a struct's fields with Go's case-insensitive key
// matching.

interface NodeBase {
  /** reflect's `Type.String()` of the value once pointers are followed: what errors print. */
  readonly goType: string;
  /** How the type is spelled inside a composite type name (`*swarm.Driver` for a pointer field). */
  readonly typeRef: string;
  /** Pointer, map, slice, []byte or interface{}: JSON null sets it to nil. */
  readonly nullable: boolean;
}

export interface StringNode extends NodeBase {
  readonly kind: 'string';
}
export interface BoolNode extends NodeBase {
  readonly kind: 'bool';
}
export interface IntNode extends NodeBase {
  readonly kind: 'int';
  readonly signed: boolean;
  readonly min: bigint;
  readonly max: bigint;
  /** `min` and `max` as doubles, for the fast path (exact where it matters: at most 15 digits). */
  readonly minNumber: number;
  readonly maxNumber: number;
}
export interface FloatNode extends NodeBase {
  readonly kind: 'float';
  readonly bits: 32 | 64;
}
export interface BytesNode extends NodeBase {
  readonly kind: 'bytes';
}
export interface InterfaceNode extends NodeBase {
  readonly kind: 'interface';
}
export interface SliceNode extends NodeBase {
  readonly kind: 'slice';
  readonly elem: SchemaNode;
}
export interface MapNode extends NodeBase {
  readonly kind: 'map';
  readonly elem: SchemaNode;
}
export interface StructField {
  /** The JSON name: the canonical key of the decoded object. */
  readonly name: string;
  readonly schema: SchemaNode;
}
export interface StructNode extends NodeBase {
  readonly kind: 'struct';
  /** reflect's `Type.Name()`: the struct name errors print before the field path. */
  readonly name: string;
  /** Fields in Go's order, promoted fields of embedded structs included. */
  readonly fields: readonly StructField[];
  readonly exact: ReadonlyMap<string, StructField>;
  readonly folded: ReadonlyMap<string, StructField>;
}

export type SchemaNode =
  StringNode | BoolNode | IntNode | FloatNode | BytesNode | InterfaceNode | SliceNode | MapNode | StructNode;

/** A Go type to decode into; `T` is the TypeScript shape of the decoded (canonical) value. */
export type Schema<T = unknown> = SchemaNode & { readonly __decoded?: T };

/** The TypeScript type a schema decodes to. */
export type Decoded<S> = S extends Schema<infer T> ? T : never;

/** A Go string, or a named string type such as `swarm.NodeAvailability`. */
export const str = (goType = 'string'): Schema<string> => ({
  kind: 'string',
  goType,
  typeRef: goType,
  nullable: false,
});

export const bool = (goType = 'bool'): Schema<boolean> => ({
  kind: 'bool',
  goType,
  typeRef: goType,
  nullable: false,
});

const intNode = (goType: string, signed: boolean, bits: number): Schema<number> => {
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  return {
    kind: 'int',
    goType,
    typeRef: goType,
    nullable: false,
    signed,
    min,
    max,
    minNumber: Number(min),
    maxNumber: Number(max),
  };
};

/** Go's int64, or a named int64 type. */
export const int64 = (goType = 'int64'): Schema<number> => intNode(goType, true, 64);
/** Go's int (64 bits on the platforms dockerd runs on). */
export const int = (goType = 'int'): Schema<number> => intNode(goType, true, 64);
/** time.Duration: int64 nanoseconds on the wire. */
export const duration = (): Schema<number> => intNode('time.Duration', true, 64);
export const uint64 = (goType = 'uint64'): Schema<number> => intNode(goType, false, 64);
/** Go's uint32, or a named one such as `fs.FileMode` (os.FileMode). */
export const uint32 = (goType = 'uint32'): Schema<number> => intNode(goType, false, 32);
export const uint8 = (goType = 'uint8'): Schema<number> => intNode(goType, false, 8);

export const float64 = (goType = 'float64'): Schema<number> => ({
  kind: 'float',
  goType,
  typeRef: goType,
  nullable: false,
  bits: 64,
});

export const float32 = (goType = 'float32'): Schema<number> => ({
  kind: 'float',
  goType,
  typeRef: goType,
  nullable: false,
  bits: 32,
});

/** Go's []byte: base64 text on the wire; decoded to canonical base64 text. */
export const bytes = (): Schema<string> => ({
  kind: 'bytes',
  goType: '[]uint8',
  typeRef: '[]uint8',
  nullable: true,
});

/** Go's interface{}: any JSON value, passed through as plain JSON (numbers become float64). */
export const iface = (): Schema<unknown> => ({
  kind: 'interface',
  goType: 'interface {}',
  typeRef: 'interface {}',
  nullable: true,
});

/** A Go slice `[]T`; the type name is derived from the element's unless given. */
export const slice = <T>(elem: Schema<T>, goType = `[]${elem.typeRef}`): Schema<T[]> => ({
  kind: 'slice',
  goType,
  typeRef: goType,
  nullable: true,
  elem,
});

/** A Go map with string keys, `map[string]T`. */
export const map = <T>(
  elem: Schema<T>,
  goType = `map[string]${elem.typeRef}`,
): Schema<Record<string, T>> => ({
  kind: 'map',
  goType,
  typeRef: goType,
  nullable: true,
  elem,
});

/** `map[string]string`, the type of every `Labels`. */
export const labels = (): Schema<Record<string, string>> => map(str());

/** A pointer `*T`: errors name `T`, null sets nil. */
export const ptr = <T>(schema: Schema<T>): Schema<T> => ({
  ...schema,
  typeRef: `*${schema.goType}`,
  nullable: true,
});

/** The fields of a struct decoding to `T`: each key must be a property of `T`. */
export type StructFields<T> = { readonly [K in keyof T]?: Schema };

export interface StructOptions {
  /** Embedded (anonymous) struct fields, e.g. `Annotations`: their fields are promoted. */
  readonly embed?: readonly Schema[];
  /** Fields Go has that the TypeScript type does not list (newer API fields kept for round trips). */
  readonly extra?: Readonly<Record<string, Schema>>;
}

/**
 * A Go struct named `goType` (`package.Name`, as reflect prints it). `fields` are keyed by their JSON
 * names, which become the canonical keys of the decoded object.
 */
export function struct<T>(goType: string, fields: StructFields<T>, options: StructOptions = {}): Schema<T> {
  const own: StructField[] = [];
  for (const [name, schema] of Object.entries({ ...fields, ...options.extra })) {
    if (schema) own.push({ name, schema: schema as SchemaNode });
  }
  const ownNames = new Set(own.map((f) => f.name));
  const promoted: StructField[] = [];
  for (const embedded of options.embed ?? []) {
    if (embedded.kind !== 'struct') throw new TypeError(`${goType}: only structs can be embedded`);
    // Fields of the outer struct hide promoted ones of the same name (Go's dominance rule).
    for (const f of embedded.fields) if (!ownNames.has(f.name)) promoted.push(f);
  }
  const all = [...promoted, ...own];
  const exact = new Map<string, StructField>();
  const folded = new Map<string, StructField>();
  for (const f of all) {
    exact.set(f.name, f);
    const key = foldKey(f.name);
    if (!folded.has(key)) folded.set(key, f);
  }
  return {
    kind: 'struct',
    goType,
    typeRef: goType,
    nullable: false,
    name: goType.slice(goType.lastIndexOf('.') + 1),
    fields: all,
    exact,
    folded,
  };
}

/**
 * Case folding as Go 1.19 matches keys to field names (field names are ASCII): ASCII letters fold, the
 * long s `ſ` matches `s` and the Kelvin sign matches `k`; nothing else matches an ASCII letter.
 * `toLowerCase` maps the Kelvin sign to `k`; no other non-ASCII character lowers to plain ASCII.
 */
export function foldKey(key: string): string {
  const lower = key.toLowerCase();
  return lower.includes('\u017f') ? lower.replace(/\u017f/g, 's') : lower;
}
