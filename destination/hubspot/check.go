package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // portals' time zones load on machines without zoneinfo

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// property is what Check needs of a HubSpot property definition.
type property struct {
	Name                 string `json:"name"`
	Label                string `json:"label"`
	Type                 string `json:"type"`
	HasUniqueValue       bool   `json:"hasUniqueValue"`
	Calculated           bool   `json:"calculated"`
	Archived             bool   `json:"archived"`
	ModificationMetadata struct {
		ReadOnlyValue bool `json:"readOnlyValue"`
	} `json:"modificationMetadata"`
}

func (p property) readOnly() bool { return p.ModificationMetadata.ReadOnlyValue || p.Calculated }

// Check verifies, before anything is sent, that the token works (learning the
// account's portal, which keys its rate budget) and that every mapped field is
// an existing, writable property of the object, and id_property a unique one.
func (d *Destination) Check(ctx context.Context) error {
	portal, zone, err := d.checkAccount(ctx)
	if err != nil {
		return err
	}
	d.mu.Lock()
	changed := d.portal != portal || zoneName(d.zone) != zoneName(zone)
	d.portal, d.zone = portal, zone
	d.mu.Unlock()
	if changed {
		d.useBudget()
		d.log.Debug("checked the HubSpot account", logPortal, portal)
	}
	props, err := d.properties(ctx)
	if err != nil {
		return err
	}
	return d.checkProperties(props)
}

// checkAccount reads the account's details and returns its portal id and its
// time zone (where its daily limit resets; nil when unknown).
func (d *Destination) checkAccount(ctx context.Context) (string, *time.Location, error) {
	resp, err := d.get(ctx, "/account-info/v3/details", "read the account's details")
	if err != nil {
		return "", nil, err
	}
	var info struct {
		PortalID json.Number `json:"portalId"`
		TimeZone string      `json:"timeZone"`
	}
	if err := json.Unmarshal(resp.Body, &info); err != nil || info.PortalID == "" {
		return "", nil, connector.Permanent(fmt.Errorf("hubspot: read the account's details: the answer has no portalId: %s", saas.Snippet(resp.Body)))
	}
	var zone *time.Location
	if info.TimeZone != "" {
		if loc, err := time.LoadLocation(info.TimeZone); err == nil {
			zone = loc
		} else {
			d.log.Warn("HubSpot's account time zone is unknown here: the daily limit is taken to reset at midnight UTC", "time_zone", info.TimeZone)
		}
	}
	return info.PortalID.String(), zone, nil
}

// properties reads the object's property definitions.
func (d *Destination) properties(ctx context.Context) (map[string]property, error) {
	resp, err := d.get(ctx, "/crm/v3/properties/"+url.PathEscape(d.object), "read the properties of "+d.object)
	if err != nil {
		return nil, err
	}
	var list struct {
		Results []property `json:"results"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return nil, connector.Permanent(fmt.Errorf("hubspot: read the properties of %s: cannot read HubSpot's answer (%v): %s", d.object, err, saas.Snippet(resp.Body)))
	}
	props := make(map[string]property, len(list.Results))
	for _, p := range list.Results {
		if !p.Archived {
			props[p.Name] = p
		}
	}
	return props, nil
}

// get reads path for Check, retrying what is worth retrying (429, 5xx, no
// answer) as the engine retries writes, and returns a 200's answer.
func (d *Destination) get(ctx context.Context, path, action string) (*saas.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := d.do(ctx, nil, saas.Request{Method: http.MethodGet, Path: path})
		switch {
		case err != nil:
			err = fmt.Errorf("hubspot: %s: %w", action, err)
		case resp.Status == http.StatusOK:
			return resp, nil
		case resp.Status == http.StatusNotFound || (resp.Status == http.StatusBadRequest && parseError(resp.Body).unknownObject()):
			return nil, connector.Permanent(fmt.Errorf("hubspot: sync %s: HubSpot has no object %q (%s): set object to contacts, companies, deals, or a custom object's name or objectTypeId (2-…)",
				d.sync.Name, d.object, parseError(resp.Body).describeOr(resp.Body)))
		default:
			err = d.checkFailure(action, resp)
		}
		if connector.IsPermanent(err) || ctx.Err() != nil || attempt >= d.limits.Attempts {
			return nil, err
		}
		wait := 250 * time.Millisecond << min(attempt-1, 6)
		if delay, ok := connector.RetryDelay(err); ok && delay > 0 {
			wait = delay
		}
		if wait > maxCheckWait {
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// maxCheckWait is the longest Check waits before retrying a read; the run
// fails rather than wait longer (the engine's bound for a Retry-After).
const maxCheckWait = 5 * time.Minute

// checkFailure describes a check request HubSpot refused.
func (d *Destination) checkFailure(action string, resp *saas.Response) error {
	what := "hubspot: " + action
	msg := parseError(resp.Body).describeOr(resp.Body)
	switch resp.Status {
	case http.StatusUnauthorized:
		return connector.Permanent(fmt.Errorf("%s: HTTP 401: %s: check access_token: HubSpot does not accept it (a private app's token may have been rotated or the app removed)", what, msg))
	case http.StatusForbidden:
		return connector.Permanent(fmt.Errorf("%s: HTTP 403: %s: check access_token's scopes: the private app needs %s", what, msg, d.scopes()))
	}
	if isDaily(resp.Status, resp.Body) {
		d.markDailySpent(resp.Retry)
		return connector.Permanent(fmt.Errorf("%s: HTTP 429: %s: the account's daily API limit is used up; it resets at midnight in the account's time zone", what, msg))
	}
	return fmt.Errorf("%s: %w", what, resp.Error(msg))
}

// checkProperties reports every mapping HubSpot cannot take, at once.
func (d *Destination) checkProperties(props map[string]property) error {
	var problems []error
	problem := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("hubspot: sync %s: "+format, append([]any{d.sync.Name}, args...)...))
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, pr := range d.props {
		name := d.sync.Fields[pr.field]
		p, ok := props[name]
		switch {
		case !ok:
			hint := ""
			if near := closestProperty(name, props); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
			}
			problem("maps a column to property %q, which %s does not have in HubSpot%s: fix the mapping's to:, or create the property in HubSpot (Settings > Data Management > Properties)",
				name, d.object, hint)
		case p.readOnly():
			problem("maps a column to property %q of %s, which is read-only in HubSpot (HubSpot sets or calculates it): remove the mapping or map the column to a writable property", name, d.object)
		}
	}
	if d.idProperty != "" && !d.byRecordID {
		p, ok := props[d.idProperty]
		unique := ok && (p.HasUniqueValue || (isContacts(d.object) && d.idProperty == contactsEmailField))
		var candidates []string
		if isContacts(d.object) {
			candidates = append(candidates, contactsEmailField)
		}
		for _, n := range names {
			if props[n].HasUniqueValue && !props[n].readOnly() {
				candidates = append(candidates, n)
			}
		}
		list := fmt.Sprintf("%s has no unique property: create one with \"Require unique values\" set", d.object)
		if len(candidates) > 0 {
			list = fmt.Sprintf("the unique properties of %s are %s", d.object, strings.Join(candidates, ", "))
		}
		switch {
		case !ok:
			hint := ""
			if near := closestProperty(d.idProperty, props); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
			}
			problem("id_property %q is not a property of %s in HubSpot%s: %s", d.idProperty, d.object, hint, list)
		case !unique:
			or := ""
			if isContacts(d.object) {
				or = ", or email for contacts"
			}
			problem("id_property %q is not a unique property of %s: %s mode finds records by it, so it must be a property with unique values (hasUniqueValue)%s; %s",
				d.idProperty, d.object, d.mode, or, list)
		}
	}
	if len(problems) > 0 {
		return connector.Permanent(errors.Join(problems...))
	}
	return nil
}

// closestProperty returns the writable property name might have meant, or "":
// the same but for case or separators, a typo or two away, or named by its label.
func closestProperty(name string, props map[string]property) string {
	norm := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch r {
			case '_', '-', ' ', '.':
				return -1
			}
			return r
		}, strings.ToLower(s))
	}
	names := make([]string, 0, len(props))
	for n, p := range props {
		if !p.readOnly() {
			names = append(names, n)
		}
	}
	slices.Sort(names) // ties go to the first name, whatever the map's order
	var candidates []string
	owner := map[string]string{} // a candidate's property
	add := func(c, n string) {
		if _, seen := owner[c]; c != "" && !seen {
			owner[c] = n
			candidates = append(candidates, c)
		}
	}
	for _, n := range names {
		add(norm(n), n)
	}
	for _, n := range names {
		if l := props[n].Label; l != "" {
			add(norm(l), n)
		}
	}
	return owner[connector.Closest(norm(name), candidates)]
}

func zoneName(l *time.Location) string {
	if l == nil {
		return ""
	}
	return l.String()
}
