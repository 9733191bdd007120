package config

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
)

// A connector's config struct is decoded by its field tags:
//
//	yaml:"name"        the key (yaml:"-" skips the field; untagged exported fields use
//	                   the lower-cased field name; an untagged embedded struct is inlined)
//	required:"true"    the key must be set (and a string must not be empty)
//	secret:"true"      the value is redacted everywhere and never shown in messages
//	doc:"..."          what the key is for, shown in messages and generated docs
//
// Supported field types: string, bool, every int and uint kind, float32/64,
// time.Duration ("30s" or a whole number of seconds), []string, map[string]string,
// nested structs and pointers to any of these.

var durationType = reflect.TypeFor[time.Duration]()

// defaulter and validator are the optional methods of a config struct's pointer:
// SetDefaults runs before decoding, Validate after a clean decode.
type (
	defaulter interface{ SetDefaults() }
	validator interface{ Validate() error }
)

type fieldInfo struct {
	key      string
	index    []int
	typ      reflect.Type
	required bool
	secret   bool
	doc      string
}

// structFields lists the keys of struct type t in declaration order.
func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			idx := append(slices.Clone(index), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct && (name == "" || opts == "inline") {
				walk(f.Type, idx)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, fieldInfo{
				key:      name,
				index:    idx,
				typ:      f.Type,
				required: f.Tag.Get("required") == "true",
				secret:   f.Tag.Get("secret") == "true",
				doc:      f.Tag.Get("doc"),
			})
		}
	}
	walk(t, nil)
	return out
}

// decodeBlock decodes the keys of block, except reserved ones that the project
// format owns (type, model, …), into cfg, a pointer to a connector's config struct,
// and runs its SetDefaults and Validate. blockPos is where the block's name is.
func (l *loader) decodeBlock(cfg any, block *node, path string, blockPos Pos, reserved []string) any {
	rv := reflect.ValueOf(cfg)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		l.errorf(blockPos, path, "the connector's config is %T, not a pointer to a struct: this is a bug in the connector", cfg)
		return cfg
	}
	if d, ok := cfg.(defaulter); ok {
		d.SetDefaults()
	}
	before, brokenBefore := len(l.errs), l.brokenValues
	l.decodeStruct(rv.Elem(), block, path, blockPos, reserved, false)
	// Validate runs even when decoding found problems, so that every problem is
	// reported at once; what it says about a key that already has an error (a value
	// that did not decode or interpolate is zero) is left out, and so are its
	// block-wide complaints when the block is not clean.
	clean := len(l.errs) == before && l.brokenValues == brokenBefore
	failed := map[string]bool{}
	for _, e := range l.errs[before:] {
		failed[e.Path] = true
	}
	if v, ok := cfg.(validator); ok {
		l.validateErrors(v.Validate(), block, path, blockPos, failed, clean)
	}
	l.collectSecrets(rv.Elem(), false)
	return cfg
}

// decodeStruct fills struct sv from mapping n. at is where the mapping's key is,
// for missing keys; secret marks everything under a secret field.
func (l *loader) decodeStruct(sv reflect.Value, n *node, path string, at Pos, reserved []string, secret bool) {
	fields := structFields(sv.Type())
	allowed := slices.Clone(reserved)
	for _, f := range fields {
		allowed = append(allowed, f.key)
	}
	set := map[string]bool{}
	for _, e := range n.entries {
		if slices.Contains(reserved, e.key) {
			continue
		}
		i := slices.IndexFunc(fields, func(f fieldInfo) bool { return f.key == e.key })
		if i < 0 {
			l.errorf(e.keyPos, joinPath(path, e.key), "%s", unknownMessage("key", e.key, allowed))
			continue
		}
		f := fields[i]
		if e.value.kind == kindNull && !e.value.broken {
			continue // as if omitted: the default stays
		}
		set[f.key] = true
		fv := sv.FieldByIndex(f.index)
		keyPath := joinPath(path, e.key)
		before := len(l.errs)
		l.decodeValue(fv, e.value, keyPath, e.keyPos, secret || f.secret)
		if f.required && len(l.errs) == before && !e.value.broken && isEmptyString(fv) {
			l.errorf(e.value.pos, keyPath, "%s", emptyMessage(e.value))
		}
	}
	for _, f := range fields {
		if f.required && !set[f.key] {
			msg := "required key is missing: add it"
			if f.doc != "" {
				msg += " (" + f.doc + ")"
			}
			l.errorf(at, joinPath(path, f.key), "%s", msg)
		}
	}
}

func isEmptyString(v reflect.Value) bool {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	return v.Kind() == reflect.String && v.Len() == 0
}

// decodeValue sets v from n, reporting a mismatch at n's position.
func (l *loader) decodeValue(v reflect.Value, n *node, path string, keyPos Pos, secret bool) {
	if n.broken {
		l.brokenValues++
		return
	}
	if n.kind == kindNull {
		return
	}
	t := v.Type()
	if t == durationType {
		l.decodeDuration(v, n, path, secret)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := reflect.New(t.Elem())
		if !v.IsNil() {
			elem.Elem().Set(v.Elem()) // keep what SetDefaults put there
		}
		l.decodeValue(elem.Elem(), n, path, keyPos, secret)
		v.Set(elem)
	case reflect.String:
		if !n.isScalar() {
			l.mismatch(n, path, "a string", secret)
			return
		}
		v.SetString(n.text)
	case reflect.Bool:
		l.decodeBool(v, n, path, secret)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		l.decodeInt(v, n, path, secret)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		l.decodeUint(v, n, path, secret)
	case reflect.Float32, reflect.Float64:
		l.decodeFloat(v, n, path, secret)
	case reflect.Slice:
		if t.Elem().Kind() != reflect.String {
			l.unsupported(n, path, t)
			return
		}
		if n.kind != kindSeq {
			l.mismatch(n, path, "a list of strings", secret)
			return
		}
		out := reflect.MakeSlice(t, len(n.items), len(n.items))
		for i, item := range n.items {
			if item.broken {
				l.brokenValues++
				continue
			}
			if !item.isScalar() || item.kind == kindNull {
				l.mismatch(item, indexPath(path, i), "a string", secret)
				continue
			}
			out.Index(i).SetString(item.text)
		}
		v.Set(out)
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
			l.unsupported(n, path, t)
			return
		}
		if n.kind != kindMap {
			l.mismatch(n, path, "a mapping of strings", secret)
			return
		}
		out := reflect.MakeMapWithSize(t, len(n.entries))
		for _, e := range n.entries {
			if e.value.broken {
				l.brokenValues++
				continue
			}
			if !e.value.isScalar() || e.value.kind == kindNull {
				l.mismatch(e.value, joinPath(path, e.key), "a string", secret)
				continue
			}
			out.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), reflect.ValueOf(e.value.text).Convert(t.Elem()))
		}
		v.Set(out)
	case reflect.Struct:
		if n.kind != kindMap {
			l.mismatch(n, path, "a mapping", secret)
			return
		}
		l.decodeStruct(v, n, path, keyPos, nil, secret)
	default:
		l.unsupported(n, path, t)
	}
}

func (l *loader) decodeBool(v reflect.Value, n *node, path string, secret bool) {
	switch n.kind {
	case kindBool:
		v.SetBool(n.boolean)
		return
	case kindString:
		// Interpolated values are always strings; "true" from the environment is a bool.
		if b, err := strconv.ParseBool(strings.TrimSpace(n.text)); err == nil {
			v.SetBool(b)
			return
		}
	}
	l.mismatch(n, path, "a boolean (true or false)", secret)
}

func (l *loader) decodeInt(v reflect.Value, n *node, path string, secret bool) {
	var i int64
	switch n.kind {
	case kindInt:
		switch x := n.integer.(type) {
		case int64:
			i = x
		case uint64:
			if x > math.MaxInt64 {
				l.outOfRange(n, path, v.Type())
				return
			}
			i = int64(x)
		default:
			l.mismatch(n, path, "an integer", secret)
			return
		}
	case kindString:
		parsed, err := strconv.ParseInt(strings.TrimSpace(n.text), 0, 64)
		if errors.Is(err, strconv.ErrRange) {
			l.outOfRange(n, path, v.Type())
			return
		}
		if err != nil {
			l.mismatch(n, path, "an integer", secret)
			return
		}
		i = parsed
	default:
		l.mismatch(n, path, "an integer", secret)
		return
	}
	if v.OverflowInt(i) {
		l.outOfRange(n, path, v.Type())
		return
	}
	v.SetInt(i)
}

func (l *loader) decodeUint(v reflect.Value, n *node, path string, secret bool) {
	var u uint64
	switch n.kind {
	case kindInt:
		switch x := n.integer.(type) {
		case int64:
			if x < 0 {
				l.errorf(n.pos, path, "must not be negative")
				return
			}
			u = uint64(x)
		case uint64:
			u = x
		default:
			l.mismatch(n, path, "an integer", secret)
			return
		}
	case kindString:
		s := strings.TrimSpace(n.text)
		if strings.HasPrefix(s, "-") {
			if _, err := strconv.ParseInt(s, 0, 64); err == nil {
				l.errorf(n.pos, path, "must not be negative")
				return
			}
		}
		parsed, err := strconv.ParseUint(s, 0, 64)
		if errors.Is(err, strconv.ErrRange) {
			l.outOfRange(n, path, v.Type())
			return
		}
		if err != nil {
			l.mismatch(n, path, "an integer", secret)
			return
		}
		u = parsed
	default:
		l.mismatch(n, path, "an integer", secret)
		return
	}
	if v.OverflowUint(u) {
		l.outOfRange(n, path, v.Type())
		return
	}
	v.SetUint(u)
}

func (l *loader) decodeFloat(v reflect.Value, n *node, path string, secret bool) {
	var f float64
	switch n.kind {
	case kindFloat:
		f = n.float
	case kindInt:
		switch x := n.integer.(type) {
		case int64:
			f = float64(x)
		case uint64:
			f = float64(x)
		}
	case kindString:
		parsed, err := strconv.ParseFloat(strings.TrimSpace(n.text), 64)
		if err != nil {
			l.mismatch(n, path, "a number", secret)
			return
		}
		f = parsed
	default:
		l.mismatch(n, path, "a number", secret)
		return
	}
	if v.OverflowFloat(f) {
		l.outOfRange(n, path, v.Type())
		return
	}
	v.SetFloat(f)
}

const durationHint = `a duration like "30s" or "1m30s", or a whole number of seconds`

func (l *loader) decodeDuration(v reflect.Value, n *node, path string, secret bool) {
	var secs int64
	switch n.kind {
	case kindInt:
		switch x := n.integer.(type) {
		case int64:
			secs = x
		case uint64:
			if x > math.MaxInt64 {
				l.outOfRange(n, path, v.Type())
				return
			}
			secs = int64(x)
		default:
			l.mismatch(n, path, durationHint, secret)
			return
		}
	case kindString:
		s := strings.TrimSpace(n.text)
		parsed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			d, err := time.ParseDuration(s)
			if err != nil {
				l.mismatch(n, path, durationHint, secret)
				return
			}
			v.SetInt(int64(d))
			return
		}
		secs = parsed
	default:
		l.mismatch(n, path, durationHint, secret)
		return
	}
	const maxSecs = math.MaxInt64 / int64(time.Second)
	if secs > maxSecs || secs < -maxSecs {
		l.outOfRange(n, path, v.Type())
		return
	}
	v.SetInt(secs * int64(time.Second))
}

// mismatch reports a value of the wrong type. A secret's value is never shown;
// describe already hides values that came from interpolation.
func (l *loader) mismatch(n *node, path, expected string, secret bool) {
	got := n.describe()
	if secret {
		got = n.kindName()
	}
	l.errorf(n.pos, path, "expected %s, got %s", expected, got)
}

func (l *loader) outOfRange(n *node, path string, t reflect.Type) {
	var lo, hi string
	switch {
	case t == durationType:
		l.errorf(n.pos, path, "duration out of range: use at most %s", time.Duration(math.MaxInt64))
		return
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		bits := t.Bits()
		lo = strconv.FormatInt(int64(-1)<<(bits-1), 10)
		hi = strconv.FormatInt(int64(1)<<(bits-1)-1, 10)
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uintptr:
		lo, hi = "0", strconv.FormatUint(math.MaxUint64>>(64-t.Bits()), 10)
	default:
		l.errorf(n.pos, path, "number out of range for %s", t)
		return
	}
	l.errorf(n.pos, path, "integer out of range: use a value from %s to %s", lo, hi)
}

func (l *loader) unsupported(n *node, path string, t reflect.Type) {
	l.errorf(n.pos, path, "the connector's config field for this key has the unsupported type %s: this is a bug in the connector", t)
}

// validateErrors reports what a config's Validate returned: each *connector.FieldError
// (alone or joined) at its key, anything else at the block.
func (l *loader) validateErrors(err error, block *node, path string, blockPos Pos, failed map[string]bool, clean bool) {
	if err == nil {
		return
	}
	for _, leaf := range flattenErrors(err) {
		var fe *connector.FieldError
		if errors.As(leaf, &fe) && fe != nil {
			at := joinPath(path, fe.Field)
			if failed[at] || brokenAt(block, fe.Field) {
				continue
			}
			l.errorf(fieldPos(block, fe.Field, blockPos), at, "%s", fe.Message)
			continue
		}
		if clean {
			l.errorf(blockPos, path, "%s", leaf.Error())
		}
	}
}

// brokenAt reports whether the value at field ("url", "auth.user") or inside it
// could not be interpolated: its Go value is zero, and its error is reported already.
func brokenAt(block *node, field string) bool {
	cur := block
	for _, seg := range strings.Split(field, ".") {
		e := cur.get(seg)
		if e == nil {
			return false
		}
		cur = e.value
	}
	return hasBroken(cur)
}

func hasBroken(n *node) bool {
	if n == nil {
		return false
	}
	if n.broken {
		return true
	}
	for _, e := range n.entries {
		if hasBroken(e.value) {
			return true
		}
	}
	for _, item := range n.items {
		if hasBroken(item) {
			return true
		}
	}
	return false
}

func flattenErrors(err error) []error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		if e != nil {
			out = append(out, flattenErrors(e)...)
		}
	}
	return out
}

// fieldPos finds the key a FieldError names ("batch_size", or "auth.user" in a
// nested block), falling back to the nearest enclosing key that is written.
func fieldPos(block *node, field string, fallback Pos) Pos {
	pos, cur := fallback, block
	for _, seg := range strings.Split(field, ".") {
		e := cur.get(seg)
		if e == nil {
			break
		}
		pos, cur = e.keyPos, e.value
	}
	return pos
}

// collectSecrets adds the string values under secret fields of v to the secrets.
func (l *loader) collectSecrets(v reflect.Value, secret bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			l.collectSecrets(v.Elem(), secret)
		}
	case reflect.Struct:
		for _, f := range structFields(v.Type()) {
			l.collectSecrets(v.FieldByIndex(f.index), secret || f.secret)
		}
	case reflect.String:
		if secret {
			l.addSecret(v.String())
		}
	case reflect.Slice:
		if secret && v.Type().Elem().Kind() == reflect.String {
			for i := range v.Len() {
				l.addSecret(v.Index(i).String())
			}
		}
	case reflect.Map:
		if secret && v.Type().Elem().Kind() == reflect.String {
			for it := v.MapRange(); it.Next(); {
				l.addSecret(it.Value().String())
			}
		}
	}
}
