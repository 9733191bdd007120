package hubspot

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// reply is a handler's answer; ServeHTTP writes it.
type reply struct {
	status int
	body   []byte // nil: no body (204)
	header http.Header
}

func (r *reply) setHeader(key, value string) {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(key, value)
}

// call is one request being answered.
type call struct {
	r           *http.Request
	body        []byte
	correlation string
	received    time.Time
}

func jsonReply(status int, v any) reply {
	return reply{status: status, body: marshal(v)}
}

// errorBody is HubSpot's error envelope; its fields are in HubSpot's order.
type errorBody struct {
	Status        string              `json:"status"`
	Message       string              `json:"message"`
	CorrelationID string              `json:"correlationId"`
	Errors        []errorDetail       `json:"errors,omitempty"`
	Context       map[string][]string `json:"context,omitempty"`
	Category      string              `json:"category,omitempty"`
	SubCategory   string              `json:"subCategory,omitempty"`
}

// errorDetail is one entry of an error's errors[].
type errorDetail struct {
	Message string              `json:"message"`
	Code    string              `json:"code,omitempty"`
	Context map[string][]string `json:"context,omitempty"`
}

// Error categories HubSpot uses.
const (
	categoryValidation = "VALIDATION_ERROR"
	categoryNotFound   = "OBJECT_NOT_FOUND"
	categoryConflict   = "CONFLICT"
	categoryAuth       = "INVALID_AUTHENTICATION"
	categoryExists     = "OBJECT_ALREADY_EXISTS"
)

func (c *call) fail(status int, category, message string) reply {
	return jsonReply(status, errorBody{Status: "error", Message: message, CorrelationID: c.correlation, Category: category})
}

// authMessage is HubSpot's answer to a missing or unknown token.
const authMessage = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"

// rateLimitBody is HubSpot's 429 answer.
type rateLimitBody struct {
	Status        string `json:"status"`
	Message       string `json:"message"`
	ErrorType     string `json:"errorType"`
	CorrelationID string `json:"correlationId"`
	PolicyName    string `json:"policyName"`
	RequestID     string `json:"requestId"`
}

// serverErrorMessages are the texts of injected 5xx answers (simulator texts:
// HubSpot's own are not documented).
var serverErrorMessages = map[int]string{
	http.StatusInternalServerError: "internal error",
	http.StatusBadGateway:          "Bad Gateway",
	http.StatusServiceUnavailable:  "Service Unavailable",
}

// newUUID returns a random version-4 UUID. Correlation ids need not be
// unpredictable, only unique.
func newUUID() string {
	a, b := rand.Uint64(), rand.Uint64()
	a = a&^0xf000 | 0x4000               // version 4
	b = b&^(0xc000<<48) | (0x8000 << 48) // variant 10
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, a>>16&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// instant formats t as Java's Instant.toString does at millisecond precision,
// which is how HubSpot writes timestamps: no fraction when it is zero.
func instant(t time.Time) string {
	t = t.UTC().Truncate(time.Millisecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

// badJSON is HubSpot's answer to a body it cannot read, with the line and column
// of the problem (HubSpot's text; the reason is Go's).
func (c *call) badJSON(err error) reply {
	offset := -1
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = int(syntax.Offset) - 1 // Offset counts the offending byte
	case errors.As(err, &typ):
		offset = int(typ.Offset)
	}
	line, col := 1, 1
	if offset >= 0 {
		for _, b := range c.body[:min(offset, len(c.body))] {
			if b == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
	}
	return jsonReply(http.StatusBadRequest, errorBody{Status: "error", CorrelationID: c.correlation,
		Message: fmt.Sprintf("Invalid input JSON on line %d, column %d: %v", line, col, err)})
}
