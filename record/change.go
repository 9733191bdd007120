package record

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Fields is a destination record: named values in mapping order. Names are usually
// shared by every record of a run.
type Fields struct {
	Names  []string
	Values []Value
}

// Len is the number of fields.
func (f Fields) Len() int { return len(f.Values) }

// Get returns the value of the named field and whether it exists.
func (f Fields) Get(name string) (Value, bool) {
	for i, n := range f.Names {
		if n == name {
			return f.Values[i], true
		}
	}
	return nil, false
}

// AppendJSON appends the fields as one JSON object.
func (f Fields) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, v := range f.Values {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, f.Names[i])
		b = append(b, ':')
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
	switch v := v.(type) {
	case nil:
		return "", ErrNullKey
	case string:
		if v == "" {
			return "", ErrEmptyKey
		}
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case Decimal:
		return v.String(), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("primary key is %v, which cannot identify a row", v)
		}
		if v == 0 {
			v = 0
		}
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	case Date:
		return v.String(), nil
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano), nil
	case []byte:
		if len(v) == 0 {
			return "", ErrEmptyKey
		}
		return fmt.Sprintf("%x", v), nil
	}
	k, _ := KindOf(v)
	return "", fmt.Errorf("primary key of type %s is not supported: use a string, integer, decimal, date or timestamp column", k)
}

// Row is one row of a model, in the order of the model's columns.
type Row = []Value
