package facebook

import (
	"net/http"
	"slices"
)

// usersReply is the answer to /users and /usersreplace.
type usersReply struct {
	AudienceID          string            `json:"audience_id"`
	SessionID           string            `json:"session_id"`
	NumReceived         int               `json:"num_received"`
	NumInvalidEntries   int               `json:"num_invalid_entries"`
	InvalidEntrySamples map[string]string `json:"invalid_entry_samples"`
}

// users answers POST /{audience_id}/users (op "add"), DELETE …/users ("remove")
// and POST …/usersreplace ("replace"). Invalid rows are counted and sampled; the
// valid ones apply; problems with the request as a whole fail it.
func (s *Server) users(c *call, a *audience, op string) reply {
	s.mu.RLock()
	flagged := a.flagged
	valueBased := a.valueBased
	s.mu.RUnlock()
	if flagged {
		return c.flaggedError()
	}
	pl, err := parsePayload(c.params["payload"], s.opts.MaxRows)
	if err != nil {
		if pe := err.(*payloadError); pe.tooMany {
			return s.tooManyRows(c)
		}
		return c.invalidParam("%s", err.Error())
	}
	var sp *sessionParam
	if text := c.params["session"]; text != "" {
		parsed, problem := parseSession(text)
		if problem != "" {
			return c.invalidParam("%s", problem)
		}
		sp = &parsed
	}
	if op == "replace" {
		switch {
		case sp == nil:
			return c.invalidParam("The parameter session is required")
		case !sp.hasSeq:
			return c.invalidParam("The parameter session[batch_seq] is required")
		}
	}
	if valueBased && op != "remove" && !slices.Contains(pl.schema, "LOOKALIKE_VALUE") {
		return c.invalidParam("Value-Based Custom Audience requires LOOKALIKE_VALUE attribute.")
	}

	// Rows are checked before the store is locked: it is most of the work.
	var reject func(string, map[string]string) string
	if fn := s.reject.Load(); fn != nil {
		reject = *fn
	}
	ck := s.check(a.id, pl, reject)

	s.mu.Lock()
	defer s.mu.Unlock()
	now := c.received
	switch {
	case a.deleted:
		return c.unsupported(c.method, a.id)
	case a.flagged:
		return c.flaggedError()
	}
	s.expire(a, now)
	var sessionID string
	if op == "replace" {
		if e := s.replace(a, *sp, pl.schema, ck, now); e != nil {
			return c.failedUpdate(e.subcode, e.title, e.text)
		}
		sessionID = sp.id
	} else {
		if a.replacing != nil && s.opts.RejectUsersDuringReplace {
			return c.failedUpdate(subcodeReplaceInProgress, "Replace In Progress",
				"Users cannot be added or removed while replace session "+a.replacing.ID+" is open on this audience.")
		}
		for _, r := range ck.rows {
			if op == "add" {
				a.members.add(r)
			} else {
				a.members.remove(r)
			}
		}
		sessionID = a.record(op, sp, ck, now)
		if len(ck.rows) > 0 {
			a.touch(now)
		}
	}
	a.uploads++
	a.multiKey = len(pl.order) > 1
	return jsonReply(http.StatusOK, usersReply{
		AudienceID:          a.id,
		SessionID:           sessionID,
		NumReceived:         ck.received,
		NumInvalidEntries:   ck.invalid,
		InvalidEntrySamples: ck.samples,
	})
}

// flaggedError is the documented answer to a membership write on an audience
// flagged with operation_status 471.
func (c *call) flaggedError() reply {
	return c.fail(http.StatusBadRequest, graphError{
		Code: 100, ErrorSubcode: 1713230, Message: "Invalid parameter",
		ErrorUserTitle: "Audience Upload Blocked",
		ErrorUserMsg:   "Before updating user memberships, you must resolve integrity restrictions on this Data File Custom Audience. Go to Audience Manager to appeal the restrictions or create a new audience with updated data",
	})
}

// tooManyRows answers a payload over Options.MaxRows: by default the documented
// code 105; with TooManyRowsUnknownError, the captured unknown error.
func (s *Server) tooManyRows(c *call) reply {
	if s.opts.TooManyRowsUnknownError {
		return c.fail(http.StatusInternalServerError, graphError{Code: 1, ErrorSubcode: 99, Message: "An unknown error occurred"})
	}
	return c.fail(http.StatusBadRequest, graphError{Code: 105, Message: "(#105) The number of parameters exceeded the maximum for this operation"})
}
