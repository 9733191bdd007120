package salesforce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// apiError is Salesforce's error shape: a failed request answers a JSON array of
// them (errorCode), a failed record of sObject Collections carries a list
// (statusCode).
type apiError struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Fields     []string `json:"fields"`
}

// code is the error's code, whichever key carried it.
func (e apiError) code() string {
	if e.StatusCode != "" {
		return e.StatusCode
	}
	return e.ErrorCode
}

// describe is the code and message, with the fields it names:
// "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (fields: Name)".
func (e apiError) describe() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = "refused without a message"
	}
	if c := e.code(); c != "" && !strings.HasPrefix(msg, c) {
		msg = c + ": " + msg
	}
	if len(e.Fields) > 0 {
		msg += " (fields: " + strings.Join(e.Fields, ", ") + ")"
	}
	return msg
}

// parseErrors reads an error body: an array of errors, or one error object.
func parseErrors(body []byte) []apiError {
	body = bytes.TrimSpace(body)
	var list []apiError
	if json.Unmarshal(body, &list) == nil {
		return list
	}
	var one apiError
	if json.Unmarshal(body, &one) == nil && (one.Message != "" || one.code() != "") {
		return []apiError{one}
	}
	return nil
}

// describeAll is the distinct descriptions of errs joined, or the body's text
// when it held none.
func describeAll(errs []apiError, body []byte) string {
	var msgs []string
	for _, e := range errs {
		if m := e.describe(); !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 {
		return saas.Snippet(body)
	}
	return strings.Join(msgs, "; ")
}

func hasCode(errs []apiError, codes ...string) bool {
	return slices.ContainsFunc(errs, func(e apiError) bool { return slices.Contains(codes, e.code()) })
}

// Codes of the errors the destination treats apart.
const (
	codeLocked         = "UNABLE_TO_LOCK_ROW"
	codeRequestLimit   = "REQUEST_LIMIT_EXCEEDED"
	codeInvalidSession = "INVALID_SESSION_ID"
	codeDeleted        = "ENTITY_IS_DELETED"
	codeInvalidID      = "INVALID_CROSS_REFERENCE_KEY"
	codeNotFound       = "NOT_FOUND"
)

// fieldProblems are codes about a field itself rather than one record's value:
// every record of the sync would get them.
var fieldProblems = []string{"INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", "NO_SUCH_COLUMN", "INVALID_FIELD_WHEN_USING_TEMPLATE"}

// recordResult is one record's outcome in an sObject Collections answer.
type recordResult struct {
	ID      string     `json:"id"`
	Success bool       `json:"success"`
	Created bool       `json:"created"`
	Errors  []apiError `json:"errors"`
}

// locked reports whether a record failed only because another transaction held
// its lock (or its parent's): the same write may succeed a moment later.
func (r recordResult) locked() bool {
	return !r.Success && len(r.Errors) > 0 && !slices.ContainsFunc(r.Errors, func(e apiError) bool { return e.code() != codeLocked })
}

// gone reports a delete's answer for a record that no longer exists.
func (r recordResult) gone() bool {
	return !r.Success && hasCode(r.Errors, codeDeleted, codeInvalidID, codeNotFound)
}

func (r recordResult) describe() string {
	if len(r.Errors) == 0 {
		return "refused without an error"
	}
	return describeAll(r.Errors, nil)
}

// failure turns a non-2xx answer to a request serving a batch into the
// engine's terms.
func (d *Destination) failure(action string, resp *saas.Response) error {
	errs := parseErrors(resp.Body)
	msg := describeAll(errs, resp.Body)
	what := fmt.Sprintf("salesforce: %s %s", action, d.object)
	switch {
	case resp.Status == http.StatusUnauthorized || hasCode(errs, codeInvalidSession):
		return connector.Permanent(fmt.Errorf("%s: HTTP %d: %s: check access_token: Salesforce does not accept it (an access token ends with its session: issue a new one for the integration user)", what, resp.Status, msg))
	case isDailyLimit(resp.Status, resp.Header, resp.Body):
		return d.markSpent(what, msg, resp.Header)
	case resp.Throttled:
		return fmt.Errorf("%s: %w", what, resp.Error(msg))
	case resp.Status == http.StatusForbidden:
		return connector.Permanent(fmt.Errorf("%s: HTTP 403: %s: check the integration user's access: it needs the API Enabled permission and access to %s and its mapped fields", what, msg, d.object))
	case resp.Status == http.StatusNotFound:
		return connector.Permanent(fmt.Errorf("%s: HTTP 404: %s: check object (%s) and api_version (%s)", what, msg, d.object, d.cfg.APIVersion))
	case resp.Status == http.StatusBadRequest && hasCode(errs, fieldProblems...):
		// Every record carries the mapping's fields: halving would not help.
		return connector.Permanent(fmt.Errorf("%s: HTTP 400: %s: fix the sync's mappings (the check before the run lists the object's fields)", what, msg))
	case resp.Status == http.StatusBadRequest || resp.Status == http.StatusRequestEntityTooLarge:
		// A refusal of the whole request for some of its records (a value of the
		// wrong type fails Salesforce's JSON reader before any record is saved):
		// halves isolate them.
		return connector.Divisible(fmt.Errorf("%s: HTTP %d: %s", what, resp.Status, msg))
	}
	return fmt.Errorf("%s: %w", what, resp.Error(msg))
}

// requestError describes a request that got no answer.
func (d *Destination) requestError(action string, err error) error {
	if errors.Is(err, saas.ErrDailyLimit) {
		// The budget refused the request: the org's count (Sforce-Limit-Info) or
		// rate_limit.daily says today's allocation is spent.
		reason := err.Error()
		d.spent.CompareAndSwap(nil, &reason)
		return connector.Permanent(fmt.Errorf("salesforce: %s %s: not sent: %w", action, d.object, err))
	}
	if ctxErr(err) {
		return err
	}
	return fmt.Errorf("salesforce: %s %s: %w", action, d.object, err)
}
