package facebook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// params are a request's parameters, as Graph reads them: the query string
// merged with the body, which may be form-encoded, multipart or a JSON object
// (body values win). A JSON body's non-string values keep their JSON text, so
// payload={"schema":…} and "payload":"{\"schema\":…}" read the same. A query,
// form or multipart value that is a JSON string is read as that string, as Graph
// reads values as JSON when they parse: the guide's curl sends -F 'name="…"'.
type params map[string]string

// parseParams reads the query string and the body whatever the method: Graph
// takes a DELETE's parameters from its body too.
func parseParams(r *http.Request, body []byte) (params, error) {
	p := params{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			p[k] = formValue(vs[len(vs)-1])
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	mediaType, mparams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mediaType == "application/json" || (mediaType == "" && bytes.TrimSpace(body)[0] == '{'):
		return p, p.addJSON(body)
	case mediaType == "multipart/form-data":
		return p, p.addMultipart(body, mparams["boundary"])
	default:
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("the form body cannot be read: %v", err)
		}
		for k, vs := range values {
			if len(vs) > 0 {
				p[k] = formValue(vs[len(vs)-1])
			}
		}
		return p, nil
	}
}

// formValue is a query, form or multipart value as Graph reads it: a JSON
// string ("\"CUSTOM\"") is its text, anything else is as sent.
func formValue(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var s string
	if json.Unmarshal([]byte(v), &s) != nil {
		return v
	}
	return s
}

func (p params) addJSON(body []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return fmt.Errorf("the JSON body is not an object: %v", err)
	}
	for k, raw := range fields {
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) > 0 && raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("parameter %s: %v", k, err)
			}
			p[k] = s
		case string(raw) == "null":
			p[k] = ""
		default:
			p[k] = string(raw)
		}
	}
	return nil
}

func (p params) addMultipart(body []byte, boundary string) error {
	if boundary == "" {
		return errors.New("the multipart body has no boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("the multipart body cannot be read: %v", err)
		}
		value, err := io.ReadAll(part)
		if err != nil {
			return fmt.Errorf("the multipart body cannot be read: %v", err)
		}
		if name := part.FormName(); name != "" {
			p[name] = formValue(string(value))
		}
	}
}

// token is the request's access token: the access_token parameter, or an
// Authorization header with the Bearer or OAuth scheme.
func (p params) token(r *http.Request) string {
	if t := strings.TrimSpace(p["access_token"]); t != "" {
		return t
	}
	auth := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "OAuth "} {
		if len(auth) > len(scheme) && strings.EqualFold(auth[:len(scheme)], scheme) {
			return strings.TrimSpace(auth[len(scheme):])
		}
	}
	return ""
}

// fields is the fields parameter as a list; sub-selections ("operation_status{code}")
// are read as their field.
func (p params) fields() []string {
	raw := p["fields"]
	if raw == "" {
		return nil
	}
	var out []string
	depth, start := 0, 0
	flush := func(end int) {
		f := strings.TrimSpace(raw[start:end])
		if i := strings.IndexAny(f, "{."); i >= 0 {
			f = f[:i]
		}
		if f != "" {
			out = append(out, f)
		}
	}
	for i, ch := range raw {
		switch ch {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				flush(i)
				start = i + 1
			}
		}
	}
	flush(len(raw))
	return out
}
