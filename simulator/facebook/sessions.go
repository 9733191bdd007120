package facebook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SessionState is where an upload session stands.
type SessionState string

// The states of a session.
const (
	SessionOpen       SessionState = "open"       // waiting for batches
	SessionComplete   SessionState = "complete"   // its last batch arrived (a replace was applied)
	SessionTimedOut   SessionState = "timed_out"  // a replace left open past Options.ReplaceTimeout
	SessionSuperseded SessionState = "superseded" // a replace abandoned for a newer one
)

// Session is an upload session of an audience, as the simulator saw it.
type Session struct {
	ID string // session_id, made up by the simulator when a request named none
	// Op is "add" (POST /users), "remove" (DELETE /users) or "replace" (usersreplace).
	Op             string
	State          SessionState
	EstimatedTotal int64 // the last estimated_num_total sent
	Batches        []Batch
	// Received and Invalid are the rows received and refused, over all batches.
	Received, Invalid int
	Started, Updated  time.Time
}

// Batch is one accepted request of a session.
type Batch struct {
	Seq               int64 // batch_seq (1 when the request named none)
	Last              bool  // last_batch_flag
	Received, Invalid int
	At                time.Time
}

// session is a Session being built; replace sessions also hold the new members.
type session struct {
	Session
	seen   map[int64]bool
	maxSeq int64
	rows   *members // replace: the membership that will be swapped in
	schema []string // replace: the schema of the first batch, which every batch keeps
}

func (ss *session) export() Session {
	out := ss.Session
	out.Batches = slices.Clone(ss.Batches)
	return out
}

// sessionParam is a decoded session parameter.
type sessionParam struct {
	id        string
	seq       int64
	hasSeq    bool
	last      bool
	estimated int64
}

// parseSession decodes a session parameter; numbers may be sent as strings.
func parseSession(text string) (sessionParam, string) {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return sessionParam{}, "param session must be a JSON object"
	}
	var sp sessionParam
	id, ok := intParam(raw["session_id"])
	if !ok || id <= 0 {
		return sessionParam{}, "param session[session_id] must be a positive integer"
	}
	sp.id = strconv.FormatInt(id, 10)
	if v, present := raw["batch_seq"]; present {
		seq, ok := intParam(v)
		if !ok || seq < 1 {
			return sessionParam{}, "param session[batch_seq] must be an integer ≥ 1"
		}
		sp.seq, sp.hasSeq = seq, true
	}
	if v, present := raw["estimated_num_total"]; present {
		n, ok := intParam(v)
		if !ok || n < 0 {
			return sessionParam{}, "param session[estimated_num_total] must be an integer ≥ 0"
		}
		sp.estimated = n
	}
	if v, present := raw["last_batch_flag"]; present {
		switch v := v.(type) {
		case bool:
			sp.last = v
		case string:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return sessionParam{}, "param session[last_batch_flag] must be a boolean"
			}
			sp.last = b
		case json.Number:
			sp.last = v.String() != "0"
		default:
			return sessionParam{}, "param session[last_batch_flag] must be a boolean"
		}
	}
	return sp, ""
}

func intParam(v any) (int64, bool) {
	var text string
	switch v := v.(type) {
	case json.Number:
		text = v.String()
	case string:
		text = strings.TrimSpace(v)
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return n, err == nil
}

// maxSessions is the most sessions an audience keeps (a benchmark makes one per
// request); the oldest finished ones are forgotten first.
const maxSessions = 10_000

// keep adds a session, forgetting the oldest finished ones past maxSessions.
func (a *audience) keep(key string, ss *session) {
	a.sessions[key] = ss
	a.order = append(a.order, ss)
	if len(a.order) <= maxSessions {
		return
	}
	for i, old := range a.order {
		if old.State != SessionOpen {
			delete(a.sessions, sessionKey(old.Op, old.ID))
			a.order = append(a.order[:i], a.order[i+1:]...)
			return
		}
	}
}

// sessionKey keys an audience's sessions: a session id is per operation.
func sessionKey(op, id string) string { return op + ":" + id }

// record adds an accepted /users batch to its session (made up when the request
// named none) and returns the session id.
func (a *audience) record(op string, sp *sessionParam, ck checked, now time.Time) string {
	if sp == nil {
		sp = &sessionParam{id: newSessionID(), seq: 1, last: true}
	}
	seq := sp.seq
	if !sp.hasSeq {
		seq = 1
	}
	key := sessionKey(op, sp.id)
	ss, ok := a.sessions[key]
	if !ok {
		ss = &session{Session: Session{ID: sp.id, Op: op, State: SessionOpen, Started: now}}
		a.keep(key, ss)
	}
	ss.add(seq, sp, ck, now)
	if sp.last {
		ss.State = SessionComplete
	}
	return sp.id
}

func (ss *session) add(seq int64, sp *sessionParam, ck checked, now time.Time) {
	ss.Batches = append(ss.Batches, Batch{Seq: seq, Last: sp.last, Received: ck.received, Invalid: ck.invalid, At: now})
	ss.Received += ck.received
	ss.Invalid += ck.invalid
	if sp.estimated > 0 {
		ss.EstimatedTotal = sp.estimated
	}
	ss.Updated = now
}

// replaceError is a refused usersreplace batch: code 2650 with a reason.
type replaceError struct {
	subcode     int
	title, text string
}

// The error_subcode and error_user_title of the usersreplace errors the guide
// lists ("Replace users API common errors") with code 2650.
const (
	subcodeReplaceInProgress = 1870145 // an update or replace is in progress
	subcodeInvalidBatch      = 1870147 // "Invalid Upload Batch for Replace"
	subcodeReplaceTimedOut   = 1870158 // "Replace Session Timed Out"
	subcodeReplaceFinished   = 1870159 // "Replace Session Finished"

	titleInvalidBatch = "Invalid Upload Batch for Replace"
)

// replace applies a usersreplace batch: it opens or continues the session, adds
// the batch's rows to the session's members and, at the batch marked last
// (whatever the batch_seq numbers before it), swaps them in as the audience's
// members. schema is the batch's payload schema: a session keeps its first one.
func (s *Server) replace(a *audience, sp sessionParam, schema []string, ck checked, now time.Time) *replaceError {
	s.expire(a, now)
	key := sessionKey("replace", sp.id)
	ss, ok := a.sessions[key]
	if !ok {
		if sp.seq != 1 {
			// The captured code and subcode of a replace whose first batch was missed.
			return &replaceError{subcodeInvalidBatch, titleInvalidBatch,
				fmt.Sprintf("The first batch (batch_seq 1) of replace session %s was not detected: a replace session starts with batch_seq 1.", sp.id)}
		}
		if old := a.replacing; old != nil {
			if s.opts.RejectConcurrentReplace {
				return &replaceError{subcodeReplaceInProgress, "Replace Already In Progress",
					fmt.Sprintf("Replace session %s is still open on this audience; finish it or wait for it to time out.", old.ID)}
			}
			old.State = SessionSuperseded
		}
		ss = &session{Session: Session{ID: sp.id, Op: "replace", State: SessionOpen, Started: now},
			seen: map[int64]bool{}, rows: newMembers(), schema: schema}
		a.keep(key, ss)
		a.replacing = ss
	}
	switch ss.State {
	case SessionComplete:
		return &replaceError{subcodeReplaceFinished, "Replace Session Finished",
			fmt.Sprintf("Replace session %s has finished: it already received its last batch (last_batch_flag true) and was applied.", sp.id)}
	case SessionTimedOut:
		return &replaceError{subcodeReplaceTimedOut, "Replace Session Timed Out",
			fmt.Sprintf("Replace session %s reached its %s time limit and has been abandoned; start a new session.", sp.id, s.opts.ReplaceTimeout)}
	case SessionSuperseded:
		return &replaceError{0, "Replace Session Superseded",
			fmt.Sprintf("Replace session %s was abandoned when a newer replace session started.", sp.id)}
	}
	dup := ss.seen[sp.seq]
	switch {
	case dup && s.opts.RejectDuplicateBatch:
		return &replaceError{subcodeInvalidBatch, titleInvalidBatch,
			fmt.Sprintf("Batch %d of replace session %s was already received.", sp.seq, sp.id)}
	case !dup && s.opts.StrictBatchOrder && sp.seq != ss.maxSeq+1:
		return &replaceError{subcodeInvalidBatch, titleInvalidBatch,
			fmt.Sprintf("Batch %d of replace session %s arrived out of order: expected batch %d.", sp.seq, sp.id, ss.maxSeq+1)}
	case !slices.Equal(schema, ss.schema):
		return &replaceError{subcodeInvalidBatch, titleInvalidBatch,
			fmt.Sprintf("Batch %d of replace session %s has schema %s but the session started with %s: the schema cannot change within a session.",
				sp.seq, sp.id, strings.Join(schema, ","), strings.Join(ss.schema, ","))}
	}
	ss.seen[sp.seq] = true
	ss.maxSeq = max(ss.maxSeq, sp.seq)
	for _, r := range ck.rows {
		ss.rows.add(r)
	}
	ss.add(sp.seq, &sp, ck, now)
	if sp.last {
		a.members = ss.rows
		ss.rows = nil
		ss.State = SessionComplete
		a.replacing = nil
		a.touch(now)
	}
	return nil
}

// expire abandons the audience's open replace session once it is older than
// Options.ReplaceTimeout.
func (s *Server) expire(a *audience, now time.Time) {
	if ss := a.replacing; ss != nil && now.Sub(ss.Started) > s.opts.ReplaceTimeout {
		ss.State = SessionTimedOut
		ss.rows = nil
		a.replacing = nil
	}
}
