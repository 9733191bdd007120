package facebook

import (
	"strconv"

	"github.com/sluicehq/sluice/record"
)

// entry is one row of a request: the batch index of the change it serves and
// its cells, as sent.
type entry struct {
	row   int
	cells []string
}

// session is the session parameter of a usersreplace batch.
type session struct {
	ID        int64
	Seq       int64
	Last      bool
	Estimated int64
}

// formBody encodes a membership request as Meta's examples send it: form fields
// payload and, for a replace session, session, each a JSON document. With
// removal the customer value is left out of the schema (a removal needs none).
// The body is the request's own memory: the run log keeps it after Write.
func (s *schema) formBody(entries []entry, removal bool, sess *session, scratch []byte) (body, json []byte) {
	json = s.payloadJSON(scratch[:0], entries, removal)
	body = make([]byte, 0, len(json)+len(json)/8+128)
	body = append(body, "payload="...)
	body = appendQueryEscaped(body, json)
	if sess != nil {
		body = append(body, "&session="...)
		body = appendQueryEscaped(body, sess.appendJSON(nil))
	}
	return body, json
}

// payloadJSON appends {"schema":[…],"data":[[…],…]}.
func (s *schema) payloadJSON(b []byte, entries []entry, removal bool) []byte {
	b = append(b, `{"schema":[`...)
	first := true
	for i, k := range s.keys {
		if removal && i == s.value {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"')
	}
	b = append(b, `],"data":[`...)
	for n, e := range entries {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		first := true
		for i, c := range e.cells {
			if removal && i == s.value {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			if i == s.value && c != "" {
				b = append(b, c...) // a number
				continue
			}
			b = record.AppendJSONString(b, c)
		}
		b = append(b, ']')
	}
	return append(b, "]}"...)
}

func (s *session) appendJSON(b []byte) []byte {
	b = append(b, `{"session_id":`...)
	b = strconv.AppendInt(b, s.ID, 10)
	b = append(b, `,"batch_seq":`...)
	b = strconv.AppendInt(b, s.Seq, 10)
	b = append(b, `,"last_batch_flag":`...)
	b = strconv.AppendBool(b, s.Last)
	if s.Estimated > 0 {
		b = append(b, `,"estimated_num_total":`...)
		b = strconv.AppendInt(b, s.Estimated, 10)
	}
	return append(b, '}')
}

// appendQueryEscaped appends src escaped for a form field, as url.QueryEscape
// would, without making a string of it: hex digests (most of a payload) pass
// through.
func appendQueryEscaped(dst, src []byte) []byte {
	const hexDigits = "0123456789ABCDEF"
	for _, c := range src {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}
