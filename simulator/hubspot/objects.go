package hubspot

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// listLimit is the largest page of GET /crm/v3/objects/{objectType}.
const listLimit = 100

// queryList reads a list parameter given comma-separated, repeated, or both.
func queryList(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

type pageJSON struct {
	Results []objectJSON `json:"results"`
	Paging  *pagingJSON  `json:"paging,omitempty"`
}

type pagingJSON struct {
	Next struct {
		After string `json:"after"`
		Link  string `json:"link"`
	} `json:"next"`
}

// listObjects answers GET /crm/v3/objects/{objectType}: records in id order,
// limit per page (default 10, at most 100), from the record id in after.
func (s *Server) listObjects(c *call, ot *objectType) reply {
	q := c.r.URL.Query()
	limit := 10
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v > 0 {
		limit = min(v, listLimit)
	}
	after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
	wanted := queryList(q, "properties")

	s.mu.RLock()
	defer s.mu.RUnlock()
	page := pageJSON{Results: []objectJSON{}}
	for _, r := range ot.list(q.Get("archived") == "true") {
		if r.id < after {
			continue
		}
		if len(page.Results) == limit {
			page.Paging = &pagingJSON{}
			next := strconv.FormatUint(r.id, 10)
			link := url.URL{Scheme: "http", Host: c.r.Host, Path: c.r.URL.Path}
			if c.r.TLS != nil {
				link.Scheme = "https"
			}
			lq := url.Values{}
			lq.Set("after", next)
			lq.Set("limit", strconv.Itoa(limit))
			link.RawQuery = lq.Encode()
			page.Paging.Next.After, page.Paging.Next.Link = next, link.String()
			break
		}
		page.Results = append(page.Results, ot.view(r, wanted))
	}
	return jsonReply(http.StatusOK, page)
}

// getObject answers GET /crm/v3/objects/{objectType}/{id}, by record id or by
// the identifier named in idProperty.
func (s *Server) getObject(c *call, ot *objectType, id string) reply {
	q := c.r.URL.Query()
	idProp := q.Get("idProperty")
	s.mu.RLock()
	defer s.mu.RUnlock()
	if idProp != "" && idProp != "hs_object_id" {
		if _, ok := ot.identifier(idProp); !ok {
			return c.fail(http.StatusBadRequest, categoryValidation, "Invalid idProperty "+idProp+": it is not a unique property")
		}
	}
	r := ot.lookup(id, idProp)
	if r == nil && q.Get("archived") == "true" {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil && ot.records[n] != nil && ot.records[n].archived {
			r = ot.records[n]
		}
	}
	if r == nil {
		return s.notFound(c)
	}
	return jsonReply(http.StatusOK, ot.view(r, queryList(q, "properties")))
}
