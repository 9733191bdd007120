package slack

import (
	"bytes"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// args are a Web API call's arguments, from a JSON body, a form body or the
// query string; Slack reads them all the same.
type args struct {
	json map[string]json.RawMessage // a JSON body's fields
	form url.Values                 // form fields and query parameters
	// formToken is a "token" field of a form body (not of JSON or the query).
	formToken string
	// warning is a Slack warning about the request: missing_charset,
	// superfluous_charset.
	warning string
}

// Warnings and their messages (missing_charset's is Slack's, from its changelog).
const (
	warnMissingCharset     = "missing_charset"
	warnSuperfluousCharset = "superfluous_charset"
)

var warningMessages = map[string]string{
	warnMissingCharset: "[WARN] A Content-Type HTTP header was presented but did not declare a charset, such as a 'utf-8'",
}

// parseArgs reads the arguments of a call; a non-empty string is the error
// Slack answers when the body cannot be read.
func parseArgs(r *http.Request, body []byte) (*args, string) {
	a := &args{form: r.URL.Query()}
	a.form.Del("token") // tokens in query strings are refused for current apps
	if r.Method != http.MethodPost || len(bytes.TrimSpace(body)) == 0 {
		return a, ""
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return a, "missing_post_type"
	}
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return a, "invalid_post_type"
	}
	charset, hasCharset := params["charset"]
	if hasCharset && !validCharset(charset) {
		return a, "invalid_charset"
	}
	switch media {
	case "application/json":
		if !hasCharset {
			a.warning = warnMissingCharset
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return a, "invalid_json"
		}
		if _, ok := v.(map[string]any); !ok {
			return a, "json_not_object"
		}
		if err := json.Unmarshal(body, &a.json); err != nil {
			return a, "invalid_json"
		}
	case "application/x-www-form-urlencoded", "text/plain":
		if hasCharset {
			a.warning = warnSuperfluousCharset
		}
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return a, "invalid_form_data"
		}
		a.addForm(vals)
	case "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		f, err := mr.ReadForm(int64(len(body)) + 1)
		if err != nil {
			return a, "invalid_form_data"
		}
		defer f.RemoveAll()
		a.addForm(f.Value)
	default:
		return a, "invalid_post_type"
	}
	return a, ""
}

func (a *args) addForm(vals map[string][]string) {
	for k, vs := range vals {
		if k == "token" {
			if len(vs) > 0 {
				a.formToken = vs[0]
			}
			continue
		}
		a.form[k] = vs
	}
}

func validCharset(c string) bool {
	switch strings.ToLower(c) {
	case "utf-8", "utf8", "iso-8859-1":
		return true
	}
	return false
}

// has tells whether an argument was given.
func (a *args) has(name string) bool {
	if _, ok := a.json[name]; ok {
		return true
	}
	return a.form.Has(name)
}

// str reads a string argument. A JSON number or boolean is read as its text,
// null as ""; an object or array is not a string (ok=false).
func (a *args) str(name string) (string, bool) {
	if raw, found := a.json[name]; found {
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) == 0 || string(raw) == "null":
			return "", true
		case raw[0] == '"':
			var s string
			err := json.Unmarshal(raw, &s)
			return s, err == nil
		case raw[0] == '{' || raw[0] == '[':
			return "", false
		default:
			return string(raw), true
		}
	}
	return a.form.Get(name), true
}

// raw reads an argument that holds JSON (blocks, attachments): as sent in a
// JSON body, or the text of a form field.
func (a *args) raw(name string) json.RawMessage {
	if raw, found := a.json[name]; found {
		return raw
	}
	if v := a.form.Get(name); v != "" {
		q, _ := json.Marshal(v)
		return q
	}
	return nil
}

// boolean reads a boolean argument: true, "true" or "1" are true; nil when absent.
func (a *args) boolean(name string) *bool {
	if !a.has(name) {
		return nil
	}
	s, _ := a.str(name)
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	v := err == nil && b
	return &v
}
