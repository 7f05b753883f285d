// Request bodies decoded the way dockerd decodes them: Go's encoding/json (Go 1.19, the toolchain of the
// Docker 20.10 engine we copy) into typed structs. A schema describes the Go type; decoding yields a
// canonical copy (keys renamed to the Go field's JSON name, unknown keys dropped, nulls handled as Go
// handles them) or fails with the text Go's decoder gives, which Docker returns verbatim with a 400.
//
// The rules reproduced here, all from encoding/json's decode.go and scanner.go:
//
// * Keys: an exact match wins, else the first field whose name matches case-insensitively (ASCII case
//   folding, plus `ſ` for `s` and the Kelvin sign for `k`). Keys without a field are ignored.
// * Type mismatches are `UnmarshalTypeError`s. Go records the first one, keeps decoding and returns it at
//   the end; as nothing else can fail once the syntax has been checked, throwing at the first one gives the
//   same answer. Text: `json: cannot unmarshal <what> into Go struct field <Struct>.<path> of type <type>`
//   where <what> is `string`, `number`, `bool`, `array` or `object`, or `number <literal>` when a number
//   does not fit an integer or float field (`-1` into uint64, `1.5` or `1e3` into int64, `1e400` into
//   float64). <Struct> is the name of the struct whose field is being decoded and <path> the JSON names of
//   the fields from the root down to it (map values and slice elements add nothing). At the top level, or
//   inside a map or slice that is not inside any struct, it is `… into Go value of type <type>`. <type> is
//   reflect's `Type.String()` of the target after pointers are followed: `int64`, `time.Duration`,
//   `[]string`, `map[string]string`, `swarm.ServiceMode`, `[]*swarm.SecretReference`.
// * Embedded structs: Go 1.19 sets <Struct> to the type of the struct being decoded and pushes only the
//   promoted field's own name, so a field promoted from an embedded struct is reported under the *outer*
//   struct: `ServiceSpec.Name`, `ServiceSpec.Labels` — not `Annotations.Labels`. dockerd 20.10 confirms it
//   (`json: cannot unmarshal number into Go struct field ServiceSpec.Name of type string`). Go 1.21+ would
//   also push the embedded field's name (`ServiceSpec.Annotations.Name`); 20.10 does not.
// * null: into a pointer, map, slice or interface{} it sets nil (the key is dropped here); into anything
//   else it does nothing. A null map value or slice element therefore becomes the element's zero value
//   (`{"a":null}` into map[string]string is `{"a":""}`).
// * []byte takes a base64 string (std alphabet, padded, CR/LF skipped); a bad one fails with base64's own
//   error (`illegal base64 data at input byte N`), without any field context. It is kept as canonical
//   base64 text.
// * A key given twice decodes into what the first one produced (structs and maps merge, slices are decoded
//   element-wise over the old elements), as Go reuses the existing value.
// * Syntax (`decodeBody`): dockerd reads bodies with json.NewDecoder(r).Decode(&req), which reads exactly
//   one JSON value — anything after it is ignored — and reports a truncated value as `unexpected EOF` and an
//   empty body as io.EOF, which the handlers turn into `got EOF while reading request body`. Other syntax
//   errors are the scanner's `invalid character 'x' looking for beginning of value` etc. Number literals
//   keep their text, so `1.0` into an integer field fails as it does in Go.
//
// Known simplifications: integers beyond ±(2^53−1), which a JS number cannot hold exactly, are refused
// with Go's out-of-range error for the field (Go would take them into int64/uint64 fields) — never stored
// rounded; float32 values are range-checked as float32 but kept as parsed; invalid UTF-8 is replaced per
// WHATWG rather than per byte.
//
// This module is the public face; the implementation is in decode/: schema.ts (the Go types), scanner.ts
// (the JSON syntax) and decoder.ts (a value into a type).

export {
  bool,
  bytes,
  duration,
  float32,
  float64,
  iface,
  int,
  int64,
  labels,
  map,
  ptr,
  slice,
  str,
  struct,
  uint32,
  uint64,
  uint8,
  type BoolNode,
  type BytesNode,
  type Decoded,
  type FloatNode,
  type InterfaceNode,
  type IntNode,
  type MapNode,
  type Schema,
  type SchemaNode,
  type SliceNode,
  type StringNode,
  type StructField,
  type StructFields,
  type StructNode,
  type StructOptions,
} from './decode/schema.js';
export { decodeAs, decodeBody, readBodyAs, type DecodeOptions } from './decode/decoder.js';
