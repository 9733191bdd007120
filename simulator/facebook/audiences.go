package facebook

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Audience is a customer file custom audience in the simulator's final state.
type Audience struct {
	ID                 string
	AdAccountID        string // digits, without "act_"
	Name               string
	Description        string
	Subtype            string // always "CUSTOM"
	CustomerFileSource string
	ValueBased         bool
	Flagged            bool // operation_status 471: membership writes are refused
	Deleted            bool // by DELETE /{audience_id}
	Size               int  // members
	Created, Updated   time.Time
}

// audience is an audience's state; Server.mu guards it.
type audience struct {
	id, account, name, description, source string
	valueBased, flagged, deleted           bool
	created, updated, contentUpdated       time.Time
	members                                *members
	sessions                               map[string]*session
	order                                  []*session
	replacing                              *session // the open replace session
	uploads                                int      // accepted membership requests
	multiKey                               bool     // the last upload's schema had several keys
}

func newAudience(id, account string, now time.Time) *audience {
	return &audience{id: id, account: account, created: now, updated: now,
		members: newMembers(), sessions: map[string]*session{}}
}

func (a *audience) touch(now time.Time) { a.updated, a.contentUpdated = now, now }

func (a *audience) export() Audience {
	return Audience{ID: a.id, AdAccountID: a.account, Name: a.name, Description: a.description,
		Subtype: "CUSTOM", CustomerFileSource: a.source, ValueBased: a.valueBased, Flagged: a.flagged,
		Deleted: a.deleted, Size: a.members.len(), Created: a.created, Updated: a.updated}
}

// The values customer_file_source takes.
var customerFileSources = []string{"USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"}

// The subtypes Graph knows; only CUSTOM (customer file) is simulated.
var subtypes = []string{"CUSTOM", "PRIMARY", "WEBSITE", "APP", "OFFLINE_CONVERSION", "CLAIM", "MANAGED", "PARTNER",
	"VIDEO", "LOOKALIKE", "ENGAGEMENT", "BAG_OF_ACCOUNTS", "STUDY_RULE_AUDIENCE", "FOX", "MEASUREMENT", "REGULATED_CATEGORIES_AUDIENCE"}

// createAudience is POST /act_{id}/customaudiences.
func (s *Server) createAudience(c *call, account string) reply {
	p := c.params
	name := strings.TrimSpace(p["name"])
	if name == "" {
		return c.invalidParam("The parameter name is required")
	}
	subtype := p["subtype"]
	switch {
	case subtype == "":
		subtype = "CUSTOM"
	case !slices.Contains(subtypes, subtype):
		return c.invalidParam("param subtype must be one of {%s}", strings.Join(subtypes, ", "))
	case subtype != "CUSTOM":
		return c.invalidParam("subtype %s is not simulated: only customer file audiences (CUSTOM) are", subtype)
	}
	source := p["customer_file_source"]
	switch {
	case source == "" && !s.opts.OptionalCustomerFileSource:
		return c.invalidParam("The parameter customer_file_source is required")
	case source != "" && !slices.Contains(customerFileSources, source):
		return c.invalidParam("param customer_file_source must be one of {%s}", strings.Join(customerFileSources, ", "))
	}
	valueBased, _ := strconv.ParseBool(p["is_value_based"])

	s.mu.Lock()
	defer s.mu.Unlock()
	id := strconv.FormatUint(s.nextID, 10)
	for s.audiences[id] != nil { // an id taken by Options.Audiences
		s.nextID++
		id = strconv.FormatUint(s.nextID, 10)
	}
	s.nextID++
	a := newAudience(id, account, c.received)
	a.name, a.description, a.source, a.valueBased = name, p["description"], source, valueBased
	s.audiences[id] = a
	s.active[account]++
	return jsonReply(http.StatusOK, map[string]string{"id": id})
}

// listAudiences is GET /act_{id}/customaudiences: the account's audiences in
// creation order, limit at a time (default 25), paged by cursors.
func (s *Server) listAudiences(c *call, account string) reply {
	fields := c.params.fields()
	if bad := unknownField(fields); bad != "" {
		return c.nonexistingField(bad)
	}
	limit := 25
	if v := c.params["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c.invalidParam("param limit must be a positive integer")
		}
		limit = min(n, 500)
	}
	after := ""
	if v := c.params["after"]; v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil {
			return c.invalidParam("param after is not a valid cursor")
		}
		after = string(b)
	}

	s.mu.RLock()
	var list []*audience
	for _, a := range s.audiences {
		if a.account == account && !a.deleted {
			list = append(list, a)
		}
	}
	slices.SortFunc(list, func(x, y *audience) int { return compareIDs(x.id, y.id) })
	start := 0
	if after != "" {
		start = len(list)
		for i, a := range list {
			if compareIDs(a.id, after) > 0 {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(list))
	data := make([]json.RawMessage, 0, end-start)
	for _, a := range list[start:end] {
		data = append(data, s.render(a, fields))
	}
	more := end < len(list)
	s.mu.RUnlock()

	page := map[string]any{"data": data}
	if len(data) > 0 {
		first, last := list[start].id, list[end-1].id
		paging := map[string]any{"cursors": map[string]string{
			"before": base64.RawURLEncoding.EncodeToString([]byte(first)),
			"after":  base64.RawURLEncoding.EncodeToString([]byte(last)),
		}}
		if more {
			q := url.Values{}
			for k, v := range c.params {
				if k != "access_token" && k != "after" && k != "appsecret_proof" {
					q.Set(k, v)
				}
			}
			q.Set("after", base64.RawURLEncoding.EncodeToString([]byte(last)))
			paging["next"] = "https://graph.facebook.com/" + c.version + "/act_" + account + "/customaudiences?" + q.Encode()
		}
		page["paging"] = paging
	}
	return jsonReply(http.StatusOK, page)
}

// compareIDs orders numeric ids by value.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// getAudience is GET /{audience_id}: the fields asked for, or only the id.
func (s *Server) getAudience(c *call, a *audience) reply {
	fields := c.params.fields()
	if bad := unknownField(fields); bad != "" {
		return c.nonexistingField(bad)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return reply{status: http.StatusOK, body: s.render(a, fields)}
}

// updateAudience is POST /{audience_id} with name or description.
func (s *Server) updateAudience(c *call, a *audience) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := c.params["name"]; ok && strings.TrimSpace(v) != "" {
		a.name = strings.TrimSpace(v)
	}
	if v, ok := c.params["description"]; ok {
		a.description = v
	}
	a.updated = c.received
	return jsonReply(http.StatusOK, map[string]bool{"success": true})
}

// deleteAudience is DELETE /{audience_id}.
func (s *Server) deleteAudience(c *call, a *audience) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !a.deleted {
		a.deleted = true
		s.active[a.account]--
	}
	return jsonReply(http.StatusOK, map[string]bool{"success": true})
}

// audienceFields are the fields the simulator answers; unsimulatedFields are
// real fields it leaves out of answers (Graph leaves unset fields out too).
var (
	audienceFields = []string{"id", "account_id", "name", "description", "subtype", "customer_file_source",
		"approximate_count_lower_bound", "approximate_count_upper_bound", "operation_status", "delivery_status",
		"time_created", "time_updated", "time_content_updated", "retention_days", "is_value_based", "data_source"}
	unsimulatedFields = []string{"rule", "rule_aggregation", "lookalike_spec", "lookalike_audience_ids", "pixel_id",
		"opt_out_link", "sharing_status", "external_event_source", "household_audience", "is_household",
		"permission_for_actions", "page_deletion_marked_delete_time", "seed_audience", "owner_business",
		"fields_violating_integrity_policy", "is_eligible_for_sac_campaigns", "delete_time"}
)

func unknownField(fields []string) string {
	for _, f := range fields {
		if !slices.Contains(audienceFields, f) && !slices.Contains(unsimulatedFields, f) {
			return f
		}
	}
	return ""
}

// nonexistingField is Graph's answer to a field the node does not have.
func (c *call) nonexistingField(field string) reply {
	return c.invalidParam("Tried accessing nonexisting field (%s) on node type (CustomAudience)", field)
}

// flaggedDescription is the documented operation_status 471 description.
const flaggedDescription = "The custom audience or lookalike is blocked because it suggests the use of information (e.g., health, financial) not allowed under Meta's terms, and is restricted from running ads. Review the audience and remove prohibited information, or choose a different one."

// minDeliverySize is the size below which the simulator reports an audience as
// too small to deliver (Meta's threshold is not documented).
const minDeliverySize = 100

type status struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

// render writes an audience's fields in the order asked, id last unless asked
// (as Graph does). It needs Server.mu held.
func (s *Server) render(a *audience, fields []string) json.RawMessage {
	b := []byte{'{'}
	put := func(k string, v any) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b = append(append(append(b, kb...), ':'), vb...)
	}
	size := a.members.len()
	for _, f := range fields {
		switch f {
		case "id":
			put(f, a.id)
		case "account_id":
			put(f, a.account)
		case "name":
			put(f, a.name)
		case "description":
			if a.description != "" {
				put(f, a.description)
			}
		case "subtype":
			put(f, "CUSTOM")
		case "customer_file_source":
			if a.source != "" {
				put(f, a.source)
			}
		case "approximate_count_lower_bound", "approximate_count_upper_bound":
			put(f, size)
		case "operation_status":
			st := status{200, "Normal"}
			if a.flagged {
				st = status{471, flaggedDescription}
			}
			put(f, st)
		case "delivery_status":
			st := status{200, "This audience is ready for use."}
			if size < minDeliverySize {
				st = status{300, "This audience is too small to use."}
			}
			put(f, st)
		case "time_created":
			put(f, a.created.Unix())
		case "time_updated":
			put(f, a.updated.Unix())
		case "time_content_updated":
			if !a.contentUpdated.IsZero() {
				put(f, a.contentUpdated.Unix())
			}
		case "retention_days":
			put(f, 0)
		case "is_value_based":
			put(f, a.valueBased)
		case "data_source":
			ds := map[string]string{"type": "UNKNOWN", "sub_type": "ANYTHING"}
			if a.uploads > 0 {
				ds = map[string]string{"type": "FILE_IMPORTED", "sub_type": "HASHES_OR_USER_IDS"}
				if a.multiKey {
					ds["sub_type"] = "MULTI_HASHES"
				}
			}
			put(f, ds)
		}
	}
	if !slices.Contains(fields, "id") {
		put("id", a.id)
	}
	return append(b, '}')
}
