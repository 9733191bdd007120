package salesforce

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// reply is a handler's answer; ServeHTTP writes it.
type reply struct {
	status      int
	body        []byte // nil: no body
	contentType string
	header      http.Header
	throttled   bool // refused for a limit: counted as throttled
}

func (r *reply) setHeader(key, value string) {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(key, value)
}

// call is one request being answered.
type call struct {
	r        *http.Request
	body     []byte
	version  string // "58.0"
	received time.Time
}

const jsonType = "application/json;charset=UTF-8"

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("salesforce: marshal an answer: %v", err))
	}
	return reply{status: status, body: b, contentType: jsonType}
}

// apiError is one entry of Salesforce's REST error body, a JSON array.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func errorReply(status int, errs ...apiError) reply { return jsonReply(status, errs) }

var (
	errNotFound = apiError{Message: "The requested resource does not exist", ErrorCode: "NOT_FOUND"}
	errSession  = apiError{Message: "Session expired or invalid", ErrorCode: "INVALID_SESSION_ID"}
)

func notFound() reply { return errorReply(http.StatusNotFound, errNotFound) }

func badRequest(code, message string) reply {
	return errorReply(http.StatusBadRequest, apiError{Message: message, ErrorCode: code})
}

// serverError is an injected 5xx: Salesforce's body for each status (sim texts).
func serverError(status int) reply {
	if status == http.StatusInternalServerError {
		return errorReply(status, apiError{ErrorCode: "UNKNOWN_EXCEPTION",
			Message: "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)"})
	}
	return errorReply(status, apiError{ErrorCode: "SERVER_UNAVAILABLE", Message: "The server is temporarily unable to handle the request."})
}

// only answers 405 unless the request has one of the methods.
func only(c *call, h func() reply, methods ...string) reply {
	for _, m := range methods {
		if c.r.Method == m {
			return h()
		}
	}
	allowed := ""
	for i, m := range methods {
		if i > 0 {
			allowed += ","
		}
		allowed += m
		if m == http.MethodGet {
			allowed += ",HEAD"
		}
	}
	rep := errorReply(http.StatusMethodNotAllowed, apiError{ErrorCode: "METHOD_NOT_ALLOWED",
		Message: fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", c.r.Method, allowed)})
	rep.setHeader("Allow", allowed)
	return rep
}
