package record

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Fields is a destination record: named values in mapping order. It holds either the
// values or their canonical encoding (AppendValues): the engine passes rows along
// encoded, as it spilled and stored them, and Values decodes only for destinations
// that need Go values, while AppendJSON writes JSON straight from the encoding.
type Fields struct {
	Names  []string
	values []Value
	enc    []byte
}

// MakeFields returns fields holding values, one per name.
func MakeFields(names []string, values []Value) Fields {
	return Fields{Names: names, values: values}
}

// EncodedFields returns fields in canonical encoding. enc must be valid (see
// ValidEncoding) and must not change while the fields are in use: values decoded
// from it share its memory.
func EncodedFields(names []string, enc []byte) Fields {
	return Fields{Names: names, enc: enc}
}

// Len is the number of fields.
func (f Fields) Len() int { return len(f.Names) }

// Values returns the values, decoding them when the fields are encoded.
func (f Fields) Values() []Value {
	if f.enc == nil {
		return f.values
	}
	vals, err := DecodeValuesShared(make([]Value, 0, len(f.Names)), f.enc)
	if err != nil {
		// EncodedFields requires a valid encoding; keep the contract visible.
		panic("record: Fields holds an invalid encoding: " + err.Error())
	}
	return vals
}

// Encoded returns the canonical encoding of the values.
func (f Fields) Encoded() []byte {
	if f.enc != nil {
		return f.enc
	}
	return AppendValues(nil, f.values)
}

// EncodedLen is len(f.Encoded()), without encoding fields that hold values.
func (f Fields) EncodedLen() int {
	switch {
	case f.enc != nil:
		return len(f.enc)
	case len(f.values) == 0:
		return 1 // the count
	}
	return len(AppendValues(nil, f.values))
}

// Get returns the value of the named field and whether it exists.
func (f Fields) Get(name string) (Value, bool) {
	for i, n := range f.Names {
		if n == name {
			return f.Values()[i], true
		}
	}
	return nil, false
}

// AppendJSON appends the fields as one JSON object.
func (f Fields) AppendJSON(b []byte) []byte {
	return f.AppendJSONWith(b, nil)
}

// JSONKeys caches field names quoted for JSON, so that writing many records with the
// same names (every record of a batch) escapes each name once. The zero value is
// ready to use; it is not safe for concurrent use.
type JSONKeys struct {
	names  []string
	quoted [][]byte // `"name":`
}

func (k *JSONKeys) keys(names []string) [][]byte {
	if len(names) == len(k.names) && (len(names) == 0 || &names[0] == &k.names[0]) {
		return k.quoted
	}
	k.names = names
	k.quoted = k.quoted[:0]
	for _, n := range names {
		q := AppendJSONString(nil, n)
		k.quoted = append(k.quoted, append(q, ':'))
	}
	return k.quoted
}

// AppendJSONWith is AppendJSON with names quoted once through k (which may be nil).
func (f Fields) AppendJSONWith(b []byte, k *JSONKeys) []byte {
	var quoted [][]byte
	if k != nil {
		quoted = k.keys(f.Names)
	}
	key := func(b []byte, i int) []byte {
		if i > 0 {
			b = append(b, ',')
		}
		if quoted != nil {
			return append(b, quoted[i]...)
		}
		b = AppendJSONString(b, f.Names[i])
		return append(b, ':')
	}
	b = append(b, '{')
	if f.enc != nil {
		_, n := binary.Uvarint(f.enc)
		rest := f.enc[max(n, 0):]
		for i := range f.Names {
			b = key(b, i)
			b, rest = appendEncodedJSON(b, rest)
		}
		return append(b, '}')
	}
	for i, v := range f.values {
		b = key(b, i)
		b = AppendJSON(b, v)
	}
	return append(b, '}')
}

// Op is what a change does to the destination's copy of a row.
type Op uint8

const (
	OpAdd    Op = iota + 1 // the key is new since the last acknowledged run
	OpChange               // the key was synced before and its mapped fields differ
	OpRemove               // the key was synced before and is no longer in the model
)

// String returns the name used in the webhook contract and the run log.
func (o Op) String() string {
	switch o {
	case OpAdd:
		return "added"
	case OpChange:
		return "changed"
	case OpRemove:
		return "removed"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// ParseOp is the inverse of Op.String.
func ParseOp(s string) (Op, error) {
	switch s {
	case "added":
		return OpAdd, nil
	case "changed":
		return OpChange, nil
	case "removed":
		return OpRemove, nil
	}
	return 0, fmt.Errorf("record: unknown change type %q", s)
}

// Change is one row's difference between the model and what the destination holds.
type Change struct {
	Op  Op
	Key string
	// Fields holds the mapped fields to write: the current ones for added and changed
	// rows, the last synced ones for removed rows.
	Fields Fields
	// Previous holds the last synced fields of a changed row; it is empty otherwise.
	Previous Fields
}

// ErrNullKey and ErrEmptyKey are the reasons a row's key makes the row invalid.
var (
	ErrNullKey  = errors.New("primary key is null")
	ErrEmptyKey = errors.New("primary key is an empty string")
)

// KeyString is the canonical text of a primary key value: the form sent to
// destinations as "key" and stored in baselines. Equal keys give equal text, and keys
// of one column type never collide.
func KeyString(v Value) (string, error) {
	if s, ok := v.(string); ok && s != "" {
		return s, nil
	}
	b, err := AppendKey(nil, v)
	return string(b), err
}

// AppendKey appends the canonical text of a primary key value (see KeyString) to b.
func AppendKey(b []byte, v Value) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return b, ErrNullKey
	case string:
		if v == "" {
			return b, ErrEmptyKey
		}
		return append(b, v...), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case Decimal:
		return append(b, v.String()...), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return b, fmt.Errorf("primary key is %v, which cannot identify a row", v)
		}
		if v == 0 {
			v = 0
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case Date:
		return v.Append(b), nil
	case time.Time:
		return v.UTC().AppendFormat(b, time.RFC3339Nano), nil
	case []byte:
		if len(v) == 0 {
			return b, ErrEmptyKey
		}
		return hex.AppendEncode(b, v), nil
	}
	k, _ := KindOf(v)
	return b, fmt.Errorf("primary key of type %s is not supported: use a string, integer, decimal, date or timestamp column", k)
}

// Row is one row of a model, in the order of the model's columns.
type Row = []Value
