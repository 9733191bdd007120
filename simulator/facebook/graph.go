package facebook

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// reply is a handler's answer; ServeHTTP writes it.
type reply struct {
	status    int
	body      []byte
	header    http.Header
	throttled bool // a rate-limit refusal, for the counters
}

func (r *reply) setHeader(key, value string) {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(key, value)
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are marshalled
	}
	return reply{status: status, body: b}
}

// graphError is the body of every Graph API error: {"error":{…}}. The fields are
// in the order Graph writes them.
type graphError struct {
	Message        string `json:"message"`
	Type           string `json:"type"`
	Code           int    `json:"code"`
	ErrorSubcode   int    `json:"error_subcode,omitempty"`
	IsTransient    bool   `json:"is_transient,omitempty"`
	ErrorUserTitle string `json:"error_user_title,omitempty"`
	ErrorUserMsg   string `json:"error_user_msg,omitempty"`
	FBTraceID      string `json:"fbtrace_id"`
}

// Graph's exception types.
const (
	typeOAuth  = "OAuthException"
	typeMethod = "GraphMethodException"
)

// fail answers a Graph error; the trace id is the call's.
func (c *call) fail(status int, e graphError) reply {
	e.FBTraceID = c.trace
	if e.Type == "" {
		e.Type = typeOAuth
	}
	return jsonReply(status, struct {
		Error graphError `json:"error"`
	}{e})
}

// invalidParam is Graph's "(#100) …" answer about a parameter.
func (c *call) invalidParam(format string, args ...any) reply {
	return c.fail(http.StatusBadRequest, graphError{Code: 100, Message: "(#100) " + fmt.Sprintf(format, args...)})
}

// unsupported is Graph's answer about an object that does not exist or that the
// token may not load (code 100, subcode 33).
func (c *call) unsupported(method, id string) reply {
	return c.fail(http.StatusBadRequest, graphError{
		Type:         typeMethod,
		Code:         100,
		ErrorSubcode: 33,
		Message: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
			strings.ToLower(method), id),
	})
}

// failedUpdate is code 2650, "Failed to update the custom audience", with the
// reason in error_user_title and error_user_msg.
func (c *call) failedUpdate(subcode int, title, msg string) reply {
	return c.fail(http.StatusBadRequest, graphError{
		Code: 2650, ErrorSubcode: subcode, Message: "(#2650) Failed to update the custom audience",
		ErrorUserTitle: title, ErrorUserMsg: msg,
	})
}

// serverError is an injected 5xx in Graph's shape: code 1 for a 500, code 2
// otherwise, both marked transient.
func (c *call) serverError(status int) reply {
	e := graphError{Code: 2, IsTransient: true, Message: "An unexpected error has occurred. Please retry your request later."}
	if status == http.StatusInternalServerError {
		e = graphError{Code: 1, IsTransient: true, Message: "An unknown error occurred"}
	}
	return c.fail(status, e)
}

// traceAlphabet is the alphabet of fbtrace_id and x-fb-request-id values.
const traceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// newTraceID returns an id like Graph's fbtrace_id ("AbJqAij9tVzv8550Tr564M2").
func newTraceID() string {
	b := make([]byte, 23)
	b[0] = 'A'
	for i := 1; i < len(b); i++ {
		b[i] = traceAlphabet[rand.IntN(len(traceAlphabet))]
	}
	return string(b)
}

// newSessionID returns a session id like those Graph makes up when a request
// names none (a positive int64).
func newSessionID() string {
	return fmt.Sprint(rand.Int64N(1<<62) + 1<<62)
}

// call is one request being answered.
type call struct {
	r        *http.Request
	body     []byte
	trace    string
	version  string
	received time.Time
	method   string // after the method parameter's override
	params   params
	token    string
}
