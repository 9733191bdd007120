package facebook

import (
	"fmt"
	"slices"
)

// Audience returns an audience by id (deleted ones too, with Deleted set).
func (s *Server) Audience(id string) (Audience, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.audiences[id]
	if !ok {
		return Audience{}, false
	}
	return a.export(), true
}

// Audiences returns every audience, deleted ones included, in id order.
func (s *Server) Audiences() []Audience {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Audience, 0, len(s.audiences))
	for _, a := range s.audiences {
		out = append(out, a.export())
	}
	slices.SortFunc(out, func(x, y Audience) int { return compareIDs(x.ID, y.ID) })
	return out
}

// Members returns an audience's members in the order they were first added (nil
// for an unknown audience). An open replace session's rows are not members yet.
func (s *Server) Members(audienceID string) []Member {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.audiences[audienceID]
	if !ok {
		return nil
	}
	return a.members.export()
}

// MemberCount is the number of an audience's members.
func (s *Server) MemberCount(audienceID string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.audiences[audienceID]
	if !ok {
		return 0
	}
	return a.members.len()
}

// Has reports whether a member of the audience carries this identifier: key is a
// schema key (EMAIL, PHONE, MADID…), value as stored (hashed keys as lower-case
// hex; see HashValue).
func (s *Server) Has(audienceID, key, value string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.audiences[audienceID]
	return ok && a.members.has(key, value)
}

// Sessions returns an audience's upload sessions in the order they started; a
// replace session left open past Options.ReplaceTimeout shows as timed out.
func (s *Server) Sessions(audienceID string) []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.audiences[audienceID]
	if !ok {
		return nil
	}
	s.expire(a, s.opts.Now())
	out := make([]Session, len(a.order))
	for i, ss := range a.order {
		out[i] = ss.export()
	}
	return out
}

// SeedMembers adds members to an audience without a request (nothing is logged
// or counted), for a test's starting state. Identifier values are stored as
// given: hash them first (HashValue).
func (s *Server) SeedMembers(audienceID string, members ...Member) error {
	rows := make([]row, 0, len(members))
	for i, m := range members {
		r, bad := rowOf(m)
		if bad != "" {
			return fmt.Errorf("facebook: seed members: member %d: %q is not an identifier key", i, bad)
		}
		if len(r.ids) == 0 {
			return fmt.Errorf("facebook: seed members: member %d has no identifier", i)
		}
		rows = append(rows, r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.audiences[audienceID]
	if !ok {
		return fmt.Errorf("facebook: seed members: no audience %s", audienceID)
	}
	for _, r := range rows {
		a.members.add(r)
	}
	return nil
}

// SetFlagged flags an audience with operation_status 471 (or clears the flag):
// while flagged, membership writes are refused with code 100, subcode 1713230.
func (s *Server) SetFlagged(audienceID string, flagged bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.audiences[audienceID]
	if !ok {
		return fmt.Errorf("facebook: set flagged: no audience %s", audienceID)
	}
	a.flagged = flagged
	return nil
}

// Identifiers returns each distinct value of a key among an audience's members,
// sorted: every hashed EMAIL in it, for instance.
func (s *Server) Identifiers(audienceID, key string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.audiences[audienceID]
	if !ok {
		return nil
	}
	return a.members.values(key)
}
