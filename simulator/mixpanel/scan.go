package mixpanel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// The /import body is scanned by hand rather than decoded with encoding/json: a
// benchmark pushes millions of events through the simulator, and one pass that
// checks the syntax, picks out the four fields Mixpanel deduplicates on and applies
// the size rules costs a fraction of building a map per event. The properties
// object is kept as the bytes that were sent.

// limits are the per-event validation rules, from Options.
type limits struct {
	maxEventBytes int
	maxProps      int
	maxKeys       int
	maxList       int
	maxDepth      int
	maxString     int
}

// fieldError is why one record failed validation: the field Mixpanel names and its message.
type fieldError struct {
	field, message string
}

// scannedEvent is one event of a request body as scanned. Its slices point into
// the body (or, for a truncated event, into a rebuilt properties object).
type scannedEvent struct {
	notObject bool   // the record is not a JSON object
	syntax    string // the record is not valid JSON (ndjson lines only)
	size      int    // bytes of the record

	name                   []byte // the "event" string's raw content
	nameSet, nameBad       bool
	nameEsc, nameTruncated bool

	props              []byte // the properties object
	propsSet, propsBad bool

	timeRaw          []byte // the number as sent
	timeSet, timeBad bool

	distinct                 []byte // raw content of distinct_id (or the number's text)
	distinctOff              int    // where distinct starts in props
	distinctSet, distinctBad bool
	distinctEsc, distinctNum bool

	insert                          []byte
	insertOff                       int
	insertSet, insertBad, insertEsc bool

	truncate   bool // a string in properties is longer than the limit
	scanErr    fieldError
	hasScanErr bool

	// Filled in by checkEvent.
	failed                     bool
	timeMs                     int64
	rebuilt                    bool // props was rebuilt to truncate strings
	nameStr                    string
	distinctStr, insertStr     string
	distinctOwned, insertOwned bool // use the strings above, not offsets into props
	propsOff                   int  // where props starts in the request's arena
}

// scanner walks JSON bytes. A syntax error is kept in err and ends the walk.
type scanner struct {
	b   []byte
	i   int
	err error
}

func (s *scanner) syntax(what string) {
	if s.err == nil {
		s.err = fmt.Errorf("invalid JSON at offset %d: %s", s.i, what)
	}
	s.i = len(s.b)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// expect consumes c after optional white space.
func (s *scanner) expect(c byte) bool {
	s.ws()
	if s.peek() != c {
		s.syntax(fmt.Sprintf("expected %q", c))
		return false
	}
	s.i++
	return true
}

// str scans a string at s.i (which must be '"') and returns its raw content
// between the quotes, where it starts, and whether it has escapes or non-ASCII bytes.
func (s *scanner) str() (raw []byte, start int, esc, nonASCII bool) {
	s.i++
	start = s.i
	b := s.b
	for i := s.i; i < len(b); {
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return b[start:i], start, esc, nonASCII
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				s.i = i
				s.syntax("unterminated string")
				return nil, start, esc, nonASCII
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					s.i = i
					s.syntax("invalid \\u escape")
					return nil, start, esc, nonASCII
				}
				i += 6
			default:
				s.i = i
				s.syntax("invalid escape")
				return nil, start, esc, nonASCII
			}
		case c < 0x20:
			s.i = i
			s.syntax("control character in string")
			return nil, start, esc, nonASCII
		case c >= 0x80:
			nonASCII = true
			i++
		default:
			i++
		}
	}
	s.i = len(b)
	s.syntax("unterminated string")
	return nil, start, esc, nonASCII
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// num scans a JSON number and returns its text.
func (s *scanner) num() []byte {
	b, start := s.b, s.i
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		s.i = i
		s.syntax("invalid value")
		return nil
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			s.i = i
			s.syntax("invalid number")
			return nil
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			s.i = i
			s.syntax("invalid number")
			return nil
		}
	}
	s.i = i
	return b[start:i]
}

func (s *scanner) literal() {
	for _, lit := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
			s.i += len(lit)
			return
		}
	}
	s.syntax("invalid value")
}

// skip scans any value without applying limits. It keeps its own stack so that
// hostile nesting cannot exhaust the goroutine's.
func (s *scanner) skip() {
	var stack []byte
	for {
		s.ws()
		switch c := s.peek(); {
		case c == '{' || c == '[':
			s.i++
			s.ws()
			close := byte('}')
			if c == '[' {
				close = ']'
			}
			if s.peek() == close {
				s.i++
				break
			}
			stack = append(stack, close)
			if c == '{' {
				if s.peek() != '"' {
					s.syntax("expected object key")
					return
				}
				s.str()
				if !s.expect(':') {
					return
				}
			}
			continue
		case c == '"':
			s.str()
		case c == '-' || '0' <= c && c <= '9':
			s.num()
		case c == 't' || c == 'f' || c == 'n':
			s.literal()
		default:
			s.syntax("invalid value")
		}
		if s.err != nil {
			return
		}
		// After a value: close containers or move to the next element.
		for {
			if len(stack) == 0 {
				return
			}
			s.ws()
			top := stack[len(stack)-1]
			switch s.peek() {
			case ',':
				s.i++
				if top == '}' {
					s.ws()
					if s.peek() != '"' {
						s.syntax("expected object key")
						return
					}
					s.str()
					if !s.expect(':') {
						return
					}
				}
			case top:
				s.i++
				stack = stack[:len(stack)-1]
				continue
			default:
				s.syntax("expected ',' or closing bracket")
				return
			}
			break
		}
		if s.err != nil {
			return
		}
	}
}

// eventScanner applies Mixpanel's per-event rules while it scans.
type eventScanner struct {
	scanner
	lim  *limits
	ev   *scannedEvent
	prop []byte // the top-level property being scanned, for error fields
}

func (s *eventScanner) invalid(field, message string) {
	if !s.ev.hasScanErr {
		s.ev.hasScanErr = true
		s.ev.scanErr = fieldError{field, message}
	}
}

func (s *eventScanner) propField() string {
	return "properties." + unquoteKey(s.prop)
}

func (s *eventScanner) invalidProp(reason string) {
	if !s.ev.hasScanErr {
		f := s.propField()
		s.invalid(f, fmt.Sprintf("'%s' is invalid: %s", f, reason))
	}
}

// checkString applies the string rules to a string value inside properties.
func (s *eventScanner) checkString(raw []byte, esc, nonASCII bool) {
	if nonASCII && !utf8.Valid(raw) {
		s.invalidProp("string should be valid utf8")
	}
	if len(raw) > s.lim.maxString && stringChars(raw, esc) > s.lim.maxString {
		s.ev.truncate = true
	}
}

// stringChars counts the characters of a JSON string's raw content.
func stringChars(raw []byte, esc bool) int {
	if esc {
		return utf8.RuneCountInString(unescape(raw))
	}
	return utf8.RuneCount(raw)
}

// value scans a value inside properties; depth is the nesting level a container
// here would have (1 for a property's own value).
func (s *eventScanner) value(depth int) {
	s.ws()
	switch c := s.peek(); {
	case c == '"':
		raw, _, esc, nonASCII := s.str()
		if s.err == nil {
			s.checkString(raw, esc, nonASCII)
		}
	case c == '{' || c == '[':
		if depth > s.lim.maxDepth {
			s.invalidProp(fmt.Sprintf("nesting depth must be at most %d", s.lim.maxDepth))
			s.skip()
			return
		}
		s.container(c, depth)
	case c == '-' || '0' <= c && c <= '9':
		s.num()
	case c == 't' || c == 'f' || c == 'n':
		s.literal()
	default:
		s.syntax("invalid value")
	}
}

func (s *eventScanner) container(open byte, depth int) {
	s.i++
	s.ws()
	close := byte('}')
	if open == '[' {
		close = ']'
	}
	n := 0
	if s.peek() == close {
		s.i++
		return
	}
	for s.err == nil {
		if open == '{' {
			s.ws()
			if s.peek() != '"' {
				s.syntax("expected object key")
				return
			}
			key, _, _, nonASCII := s.str()
			if nonASCII && !utf8.Valid(key) {
				s.invalidProp("key should be valid utf8")
			}
			if !s.expect(':') {
				return
			}
		}
		s.value(depth + 1)
		n++
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			continue
		case close:
			s.i++
		default:
			s.syntax("expected ',' or closing bracket")
			return
		}
		break
	}
	if open == '{' && n > s.lim.maxKeys {
		s.invalidProp(fmt.Sprintf("object must have fewer than %d keys", s.lim.maxKeys+1))
	}
	if open == '[' && n > s.lim.maxList {
		s.invalidProp(fmt.Sprintf("list must have fewer than %d elements", s.lim.maxList+1))
	}
}

// event scans one record: an object with "event" and "properties".
func (s *eventScanner) event() {
	ev := s.ev
	s.ws()
	start := s.i
	if s.peek() != '{' {
		ev.notObject = true
		s.skip()
		ev.size = s.i - start
		return
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		ev.size = s.i - start
		return
	}
	for s.err == nil {
		s.ws()
		if s.peek() != '"' {
			s.syntax("expected object key")
			return
		}
		key, _, kesc, _ := s.str()
		if !s.expect(':') {
			return
		}
		s.ws()
		name := key
		if kesc {
			name = []byte(unescape(key))
		}
		switch string(name) {
		case "event":
			ev.nameSet = true
			if s.peek() == '"' {
				raw, _, esc, nonASCII := s.str()
				ev.name, ev.nameEsc = raw, esc
				if s.err == nil && nonASCII && !utf8.Valid(raw) {
					s.invalid("event", "'event' is invalid: string should be valid utf8")
				}
				if len(raw) > s.lim.maxString && stringChars(raw, esc) > s.lim.maxString {
					ev.nameTruncated = true
				}
			} else {
				ev.nameBad = true
				s.skip()
			}
		case "properties":
			ev.propsSet = true
			if s.peek() == '{' {
				s.properties()
			} else {
				ev.propsBad = true
				s.skip()
			}
		default:
			s.skip()
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			continue
		case '}':
			s.i++
		default:
			s.syntax("expected ',' or '}'")
			return
		}
		break
	}
	ev.size = s.i - start
}

// properties scans the properties object, picking out time, distinct_id and $insert_id.
func (s *eventScanner) properties() {
	ev := s.ev
	start := s.i
	s.i++
	s.ws()
	n := 0
	if s.peek() == '}' {
		s.i++
		ev.props = s.b[start:s.i]
		return
	}
	for s.err == nil {
		s.ws()
		if s.peek() != '"' {
			s.syntax("expected object key")
			return
		}
		key, _, kesc, nonASCII := s.str()
		if !s.expect(':') {
			return
		}
		s.prop = key
		if nonASCII && !utf8.Valid(key) {
			s.invalidProp("key should be valid utf8")
		}
		s.ws()
		name := key
		if kesc {
			name = []byte(unescape(key))
		}
		c := s.peek()
		switch string(name) {
		case "time":
			ev.timeSet = true
			if c == '-' || '0' <= c && c <= '9' {
				ev.timeRaw = s.num()
			} else {
				ev.timeBad = true
				s.value(1)
			}
		case "distinct_id":
			ev.distinctSet = true
			switch {
			case c == '"':
				raw, at, esc, nonASCII := s.str()
				if s.err == nil {
					s.checkString(raw, esc, nonASCII)
				}
				ev.distinct, ev.distinctOff, ev.distinctEsc = raw, at-start, esc
			case c == '-' || '0' <= c && c <= '9':
				at := s.i
				ev.distinct, ev.distinctOff, ev.distinctNum = s.num(), at-start, true
			default:
				ev.distinctBad = true
				s.value(1)
			}
		case "$insert_id":
			ev.insertSet = true
			if c == '"' {
				raw, at, esc, nonASCII := s.str()
				if s.err == nil {
					s.checkString(raw, esc, nonASCII)
				}
				ev.insert, ev.insertOff, ev.insertEsc = raw, at-start, esc
			} else {
				ev.insertBad = true
				s.value(1)
			}
		default:
			s.value(1)
		}
		n++
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			continue
		case '}':
			s.i++
		default:
			s.syntax("expected ',' or '}'")
			return
		}
		break
	}
	ev.props = s.b[start:s.i]
	if n > s.lim.maxProps {
		s.invalid("properties", fmt.Sprintf("'properties' is invalid: must have fewer than %d properties", s.lim.maxProps+1))
	}
}

// scanBody splits a request body into records: a JSON array, or one JSON object
// per line (application/x-ndjson, and a single object). It stops after max+1
// records (tooMany). A malformed array is an error for the whole body; a
// malformed line fails only its record.
func scanBody(body []byte, lim *limits, max int, events []scannedEvent) (_ []scannedEvent, tooMany bool, err error) {
	s := eventScanner{lim: lim}
	s.b = body
	s.ws()
	if s.peek() != '[' {
		return scanLines(body, lim, max, events)
	}
	s.i++
	s.ws()
	if s.peek() == ']' {
		s.i++
	} else {
		for {
			if len(events) >= max {
				return events, true, nil
			}
			events = append(events, scannedEvent{})
			s.ev = &events[len(events)-1]
			s.prop = nil
			s.event()
			if s.err != nil {
				return events, false, s.err
			}
			s.ws()
			if s.peek() == ',' {
				s.i++
				continue
			}
			if !s.expect(']') {
				return events, false, s.err
			}
			break
		}
	}
	s.ws()
	if s.i != len(s.b) {
		s.syntax("unexpected data after the array")
		return events, false, s.err
	}
	return events, false, nil
}

func scanLines(body []byte, lim *limits, max int, events []scannedEvent) ([]scannedEvent, bool, error) {
	for len(body) > 0 {
		line := body
		if nl := bytes.IndexByte(body, '\n'); nl >= 0 {
			line, body = body[:nl], body[nl+1:]
		} else {
			body = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(events) >= max {
			return events, true, nil
		}
		events = append(events, scannedEvent{})
		ev := &events[len(events)-1]
		s := eventScanner{lim: lim, ev: ev}
		s.b = line
		s.event()
		if s.err == nil {
			s.ws()
			if s.i != len(s.b) {
				s.syntax("unexpected data after the object")
			}
		}
		if s.err != nil {
			*ev = scannedEvent{syntax: s.err.Error(), size: len(line)}
		}
	}
	return events, false, nil
}

// unescape decodes the raw content of a JSON string.
func unescape(raw []byte) string {
	q := make([]byte, 0, len(raw)+2)
	q = append(q, '"')
	q = append(q, raw...)
	q = append(q, '"')
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return string(raw)
	}
	return s
}

func unquoteKey(raw []byte) string {
	if bytes.IndexByte(raw, '\\') >= 0 {
		return unescape(raw)
	}
	return string(raw)
}
