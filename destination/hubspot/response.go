package hubspot

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connector/saas"
)

// batchResponse is the answer of a batch endpoint (200, 201 or 207).
type batchResponse struct {
	Status  string        `json:"status"`
	Results []batchResult `json:"results"`
	Errors  []apiError    `json:"errors"`
}

type batchResult struct {
	ID                 string             `json:"id"`
	Properties         map[string]*string `json:"properties"`
	ObjectWriteTraceID string             `json:"objectWriteTraceId"`
}

// apiError is HubSpot's error shape, alone (a failed request) or in a 207's list.
type apiError struct {
	Status   string                     `json:"status"`
	Category string                     `json:"category"`
	Message  string                     `json:"message"`
	Context  map[string]json.RawMessage `json:"context"`
	Errors   []struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"errors"`
	PolicyName    string `json:"policyName"`
	CorrelationID string `json:"correlationId"`
}

func parseBatchResponse(body []byte) (batchResponse, error) {
	var r batchResponse
	if len(bytes.TrimSpace(body)) == 0 {
		return r, nil
	}
	err := json.Unmarshal(body, &r)
	return r, err
}

// parseError reads an error body; a body that is not HubSpot's JSON gives a zero
// apiError, and describeOr falls back to the body's text.
func parseError(body []byte) apiError {
	var e apiError
	_ = json.Unmarshal(body, &e)
	return e
}

// describe is HubSpot's message with its category: "VALIDATION_ERROR: Property
// values were not valid: …".
func (e apiError) describe() string {
	msg := e.Message
	if msg == "" {
		var parts []string
		for _, sub := range e.Errors {
			if sub.Message != "" {
				parts = append(parts, sub.Message)
			}
		}
		msg = strings.Join(parts, "; ")
	}
	if msg == "" {
		msg = "refused without a message"
	}
	if e.Category != "" && !strings.HasPrefix(msg, e.Category) {
		return e.Category + ": " + msg
	}
	return msg
}

func (e apiError) describeOr(body []byte) string {
	if e.Message == "" && e.Category == "" && len(e.Errors) == 0 {
		return saas.Snippet(body)
	}
	return e.describe()
}

// isPropertyProblem reports an error about a property itself (unknown, read-only)
// rather than about one record's value: every record of the sync would get it.
func (e apiError) isPropertyProblem() bool {
	text := e.Message
	for _, sub := range e.Errors {
		text += " " + sub.Code + " " + sub.Message
	}
	for _, marker := range []string{"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE", "does not exist", "read-only", "read only"} {
		if strings.Contains(text, marker) {
			return true
		}
	}
	return false
}

// contextValues are the strings an error's context lists under any of keys
// (compared without case).
func (e apiError) contextValues(keys ...string) []string {
	var out []string
	for k, raw := range e.Context {
		if !slices.ContainsFunc(keys, func(want string) bool { return strings.EqualFold(k, want) }) {
			continue
		}
		var list []string
		if json.Unmarshal(raw, &list) == nil {
			out = append(out, list...)
			continue
		}
		var one string
		if json.Unmarshal(raw, &one) == nil {
			out = append(out, one)
		}
	}
	return out
}

// unknownObject reports HubSpot's answer for an object type it does not have.
func (e apiError) unknownObject() bool {
	return strings.Contains(e.Message, "Unable to infer object type")
}

// rowIndex maps what identifies an input of a request to the batch's rows: its
// objectWriteTraceId (the input's position) and its id_property value.
type rowIndex struct {
	rows []int            // by trace id
	ids  map[string][]int // by id value
}

func newRowIndex(n int) *rowIndex {
	return &rowIndex{rows: make([]int, 0, n), ids: make(map[string][]int, n)}
}

// add indexes batch row i sent with id and returns its trace id.
func (x *rowIndex) add(id string, i int) string {
	trace := strconv.Itoa(len(x.rows))
	x.rows = append(x.rows, i)
	if id != "" {
		x.ids[id] = append(x.ids[id], i)
	}
	return trace
}

// len is the number of inputs indexed.
func (x *rowIndex) len() int { return len(x.rows) }

// all returns the rows indexed.
func (x *rowIndex) all() []int { return x.rows }

// byTrace returns the row sent with trace id t.
func (x *rowIndex) byTrace(t string) []int {
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 || n >= len(x.rows) || strconv.Itoa(n) != t {
		return nil
	}
	return x.rows[n : n+1]
}

// byID returns the rows sent with id, exactly or else ignoring case (HubSpot
// lower-cases emails).
func (x *rowIndex) byID(id string) []int {
	if rows := x.ids[id]; len(rows) > 0 {
		return rows
	}
	var rows []int
	for k, r := range x.ids {
		if strings.EqualFold(k, id) {
			rows = append(rows, r...)
		}
	}
	return rows
}

// match returns the rows an error names in its context: by trace id when it
// gives them, by id otherwise (under "ids", or the id property's own name).
func (x *rowIndex) match(e apiError, idProperty string) []int {
	var rows []int
	seen := map[int]bool{}
	collect := func(found []int) {
		for _, i := range found {
			if !seen[i] {
				seen[i] = true
				rows = append(rows, i)
			}
		}
	}
	for _, t := range e.contextValues("objectWriteTraceId") {
		collect(x.byTrace(t))
	}
	if len(rows) > 0 {
		return rows
	}
	for _, id := range e.contextValues("ids", "id", idProperty) {
		collect(x.byID(id))
	}
	return rows
}
