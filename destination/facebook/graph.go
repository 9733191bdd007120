package facebook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// graphError is the body of every Graph API error: {"error":{…}}.
type graphError struct {
	Message     string `json:"message"`
	Type        string `json:"type"`
	Code        int    `json:"code"`
	Subcode     int    `json:"error_subcode"`
	IsTransient bool   `json:"is_transient"`
	UserTitle   string `json:"error_user_title"`
	UserMsg     string `json:"error_user_msg"`
	TraceID     string `json:"fbtrace_id"`
}

// parseGraphError reads a Graph error body; ok is false when the body is not one.
func parseGraphError(body []byte) (graphError, bool) {
	var v struct {
		Error *graphError `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || v.Error == nil {
		return graphError{}, false
	}
	return *v.Error, true
}

// String is what Meta said, for messages: the message, the user-facing title and
// text when there are, the code and the trace id Meta's support asks for.
func (e graphError) String() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.UserTitle != "" || e.UserMsg != "" {
		b.WriteString(" (")
		b.WriteString(strings.TrimSpace(e.UserTitle + ": " + e.UserMsg))
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " [code %d", e.Code)
	if e.Subcode != 0 {
		fmt.Fprintf(&b, ", subcode %d", e.Subcode)
	}
	if e.TraceID != "" {
		b.WriteString(", fbtrace_id " + e.TraceID)
	}
	b.WriteString("]")
	return b.String()
}

// throttleCodes are the Graph error codes of rate limiting: the app's (4), the
// user's or ad account's score (17, 613), a page's (32) and the business use
// cases' (80000–80014; 80003 is custom audiences).
func isThrottleCode(code int) bool {
	switch code {
	case 4, 17, 32, 613:
		return true
	}
	return code >= 80000 && code <= 80014
}

// isThrottled tells the budget which answers are Meta's throttling: a Graph
// error with a throttling code, sent with HTTP 400 or 403 and no Retry-After;
// a 429, should one come, too.
func isThrottled(status int, _ http.Header, body []byte) bool {
	if status == http.StatusTooManyRequests {
		return true
	}
	if status < 400 {
		return false
	}
	e, ok := parseGraphError(body)
	return ok && isThrottleCode(e.Code)
}

// describeAnswer is what an answer that is not a success said.
func describeAnswer(body []byte) string {
	if e, ok := parseGraphError(body); ok {
		return e.String()
	}
	return saas.Snippet(body)
}

// failure turns an answer that did not succeed into the engine's terms, with
// what to do about it: throttling and Meta's transient errors are retried,
// credentials, permissions and a missing audience are permanent and named.
func (d *Destination) failure(action string, resp *saas.Response) error {
	what := "facebook: " + action
	e, isGraph := parseGraphError(resp.Body)
	msg := describeAnswer(resp.Body)
	switch {
	case resp.Throttled:
		return connector.Throttled(fmt.Errorf("%s: Meta throttled the ad account: %s", what, msg), resp.Retry)
	case !isGraph:
		return fmt.Errorf("%s: %w", what, resp.Error(msg))
	}
	permanent := func(format string, args ...any) error {
		return connector.Permanent(fmt.Errorf("%s: %s: "+format, append([]any{what, msg}, args...)...))
	}
	switch {
	case e.Code == 190 || e.Code == 102 || e.Code == 104 || e.Code == 463 || e.Code == 467:
		return permanent("check access_token: Meta does not accept it (a system user's token may have been revoked, or a user token expired)")
	case e.Code == 294:
		return permanent("check access_token's permissions: the token lacks ads_management, which adding and removing audience members needs; generate it for a system user with ads_management")
	case e.Code == 100 && e.Subcode == 33:
		return permanent("audience %s does not exist, was deleted, or the token cannot reach it: check audience_id, and that the system user has the ad account %s (Business Settings → Users → System users → Assigned assets)", d.audience, d.cfg.AdAccountID)
	case e.Code == 100 && e.Subcode == 1713230:
		return permanent("the audience is flagged (operation_status 471): resolve its restrictions in Audience Manager, or create a new audience")
	case e.Code == 10 || (e.Code >= 200 && e.Code < 300):
		return permanent("the token may not manage audience %s: give the system user the ad account %s with the Manage campaigns task", d.audience, d.cfg.AdAccountID)
	case e.Code == 1487366:
		return permanent("audience %s was deleted: create a new one and set audience_id to it", d.audience)
	case e.Code == 105 || resp.Status == http.StatusRequestEntityTooLarge:
		// Too many rows or too large a body for Meta: halving finds a size it takes.
		return connector.Divisible(connector.Permanent(fmt.Errorf("%s: %s: the request is too large for Meta; lower batch_size", what, msg)))
	case e.IsTransient || e.Code == 1 || e.Code == 2 || resp.Status >= 500:
		err := fmt.Errorf("%s: HTTP %d: %s", what, resp.Status, msg)
		if resp.Retry > 0 {
			return connector.RetryAfter(err, resp.Retry)
		}
		return err
	}
	return connector.Permanent(fmt.Errorf("%s: HTTP %d: %s", what, resp.Status, msg))
}

// usersAnswer is Meta's answer to /users and /usersreplace.
type usersAnswer struct {
	AudienceID        string  `json:"audience_id"`
	SessionID         flexInt `json:"session_id"`
	NumReceived       flexInt `json:"num_received"`
	NumInvalidEntries flexInt `json:"num_invalid_entries"`
	// InvalidEntrySamples maps a sample of the refused rows (or values) to the
	// reason; its form is not documented, so any other shape is ignored.
	InvalidEntrySamples json.RawMessage `json:"invalid_entry_samples"`
}

// flexInt is a number Meta may send as a JSON number or a numeric string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = flexInt(v)
	return nil
}

func parseUsersAnswer(body []byte) (usersAnswer, error) {
	var a usersAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("cannot read Meta's answer (%v): %s", err, saas.Snippet(body))
	}
	return a, nil
}

// samples returns the invalid entry samples as sample → reason.
func (a usersAnswer) samples() map[string]string {
	if len(a.InvalidEntrySamples) == 0 {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(a.InvalidEntrySamples, &m) == nil {
		return m
	}
	return nil
}

// refused maps Meta's invalid entry samples to the entries of a request. A
// sample is a row as sent (a JSON list of its cells) or one cell's value; a
// reason "KEY: …" names the key of the cell. Samples that match no entry are
// left out: Meta samples at most a few.
func (s *schema) refused(entries []entry, removal bool, samples map[string]string) map[int]string {
	if len(samples) == 0 {
		return nil
	}
	out := map[int]string{}
	keys := s.keys
	if removal && s.value >= 0 {
		keys = append(append([]string(nil), keys[:s.value]...), keys[s.value+1:]...)
	}
	sent := func(e entry) []string {
		if !removal || s.value < 0 {
			return e.cells
		}
		return append(append([]string(nil), e.cells[:s.value]...), e.cells[s.value+1:]...)
	}
	for sample, reason := range samples {
		var row []any
		if json.Unmarshal([]byte(sample), &row) == nil && len(row) == len(keys) {
			for k, e := range entries {
				if sameRow(row, sent(e)) {
					out[k] = reason
				}
			}
			continue
		}
		key := -1
		if name, _, ok := strings.Cut(reason, ":"); ok {
			for i, k := range keys {
				if k == strings.TrimSpace(name) {
					key = i
				}
			}
		}
		for k, e := range entries {
			cells := sent(e)
			for i, c := range cells {
				if c == sample && (key < 0 || key == i) {
					out[k] = reason
				}
			}
		}
	}
	return out
}

// sameRow compares a sampled row with the cells sent.
func sameRow(sample []any, cells []string) bool {
	for i, v := range sample {
		var text string
		switch v := v.(type) {
		case string:
			text = v
		case float64:
			text = strconv.FormatFloat(v, 'f', -1, 64)
		case nil:
		default:
			return false
		}
		if text != cells[i] {
			return false
		}
	}
	return true
}

// errInvalidEntry marks rows Meta counted among num_invalid_entries.
var errInvalidEntry = errors.New("Meta counted the row among the invalid entries")
