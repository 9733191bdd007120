package salesforce

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

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// sobjectDescribe is what Check needs of GET /sobjects/{object}/describe.
type sobjectDescribe struct {
	Name       string          `json:"name"`
	Createable bool            `json:"createable"`
	Updateable bool            `json:"updateable"`
	Deletable  bool            `json:"deletable"`
	Fields     []fieldDescribe `json:"fields"`
}

// fieldDescribe is what Check needs of a field's description.
type fieldDescribe struct {
	Name          string `json:"name"`
	Label         string `json:"label"`
	Type          string `json:"type"`
	Createable    bool   `json:"createable"`
	Updateable    bool   `json:"updateable"`
	ExternalID    bool   `json:"externalId"`
	CaseSensitive bool   `json:"caseSensitive"`
}

func (f fieldDescribe) numeric() bool {
	switch f.Type {
	case "double", "int", "currency", "percent", "long":
		return true
	}
	return false
}

// Check verifies, before anything is sent, that the token works and that the
// object and every mapped field exist and may be written in the sync's mode:
// createable to create records, updateable to change them, and
// external_id_field an External ID of the object.
func (d *Destination) Check(ctx context.Context) error {
	resp, err := d.get(ctx, d.dataAPI+"/sobjects/"+url.PathEscape(d.object)+"/describe", "describe "+d.object)
	if err != nil {
		return err
	}
	if resp.Status == http.StatusNotFound {
		return d.unknownObject(ctx, resp)
	}
	var desc sobjectDescribe
	if err := json.Unmarshal(resp.Body, &desc); err != nil || desc.Name == "" {
		return connector.Permanent(fmt.Errorf("salesforce: describe %s: cannot read Salesforce's answer: %s", d.object, saas.Snippet(resp.Body)))
	}
	return d.checkFields(&desc)
}

// checkFields reports every mapping Salesforce cannot take, at once.
func (d *Destination) checkFields(desc *sobjectDescribe) error {
	var problems []error
	problem := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("salesforce: sync %s: "+format, append([]any{d.sync.Name}, args...)...))
	}
	creates := d.mode != connector.ModeUpdate
	updates := d.mode != connector.ModeInsert
	// Each missing permission is its own problem: all are reported at once.
	if creates && !desc.Createable {
		problem("the integration user cannot create %s records, which %s mode does: grant Create on %s in its profile or a permission set", d.object, d.mode, d.object)
	}
	if updates && !desc.Updateable {
		problem("the integration user cannot edit %s records, which %s mode does: grant Edit on %s in its profile or a permission set", d.object, d.mode, d.object)
	}
	if d.mode == connector.ModeMirror && !desc.Deletable {
		problem("the integration user cannot delete %s records, which mirror mode does for rows removed from the model: grant Delete on %s", d.object, d.object)
	}
	byName := make(map[string]fieldDescribe, len(desc.Fields))
	for _, f := range desc.Fields {
		byName[strings.ToLower(f.Name)] = f
	}
	for _, fd := range d.fields {
		f, ok := byName[strings.ToLower(fd.name)]
		isExt := strings.EqualFold(fd.name, d.extID)
		switch {
		case !ok:
			problem("maps a column to field %q, which %s does not have%s: fix the mapping's to: (a field's API name, e.g. Students_Online__c), or create the field in Salesforce (Setup > Object Manager > %s > Fields & Relationships)",
				fd.name, d.object, didYouMean(fd.name, desc.Fields, func(f fieldDescribe) bool { return f.Createable || f.Updateable }), d.object)
		case creates && !f.Createable:
			problem("maps a column to field %s of %s, which cannot be set when a record is created (createable is false: a formula, an auto-number, a system field, or no edit access): remove the mapping, or give the integration user edit access to the field",
				f.Name, d.object)
		case updates && !f.Updateable && !isExt:
			problem("maps a column to field %s of %s, which cannot be changed on existing records (updateable is false): %s mode changes records, so remove the mapping or give the integration user edit access to the field",
				f.Name, d.object, d.mode)
		}
	}
	if d.extID != "" {
		f, ok := byName[strings.ToLower(d.extID)]
		var externals []string
		for _, c := range desc.Fields {
			if c.ExternalID {
				externals = append(externals, c.Name)
			}
		}
		slices.Sort(externals)
		list := fmt.Sprintf("%s has no External ID field: create one (a text or number field with the External ID attribute)", d.object)
		if len(externals) > 0 {
			list = fmt.Sprintf("the External ID fields of %s are %s", d.object, strings.Join(externals, ", "))
		}
		switch {
		case !ok:
			problem("external_id_field %q is not a field of %s%s: %s", d.extID, d.object,
				didYouMean(d.extID, desc.Fields, func(f fieldDescribe) bool { return f.ExternalID }), list)
		case !f.ExternalID:
			problem("external_id_field %s is not an External ID field of %s: Salesforce matches records only by a field with the External ID attribute (externalId); %s, or edit the field to set it",
				f.Name, d.object, list)
		default:
			d.extNumeric.Store(f.numeric())
			d.extCaseSensitive.Store(f.CaseSensitive)
		}
	}
	if len(problems) > 0 {
		return connector.Permanent(errors.Join(problems...))
	}
	return nil
}

// didYouMean is a " (did you mean "X"?)" hint naming the field name might have
// meant, among those keep accepts: the same but for case or the __c suffix, a
// typo or two away, or named by its label.
func didYouMean(name string, fields []fieldDescribe, keep func(fieldDescribe) bool) string {
	norm := func(s string) string {
		s = strings.TrimSuffix(strings.ToLower(s), "__c")
		return strings.Map(func(r rune) rune {
			switch r {
			case '_', '-', ' ', '.':
				return -1
			}
			return r
		}, s)
	}
	var candidates []string
	owner := map[string]string{}
	add := func(c, n string) {
		if _, seen := owner[c]; c != "" && !seen {
			owner[c] = n
			candidates = append(candidates, c)
		}
	}
	sorted := slices.Clone(fields)
	slices.SortFunc(sorted, func(a, b fieldDescribe) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range sorted {
		if keep(f) {
			add(norm(f.Name), f.Name)
		}
	}
	for _, f := range sorted {
		if keep(f) && f.Label != "" {
			add(norm(f.Label), f.Name)
		}
	}
	if near := owner[connector.Closest(norm(name), candidates)]; near != "" && near != name {
		return fmt.Sprintf(" (did you mean %q?)", near)
	}
	return ""
}

// unknownObject explains a describe's 404: an object the org does not have
// (with the closest it has), or an API version it does not serve.
func (d *Destination) unknownObject(ctx context.Context, described *saas.Response) error {
	msg := describeAll(parseErrors(described.Body), described.Body)
	resp, err := d.get(ctx, d.dataAPI+"/sobjects", "list the objects")
	if err != nil {
		return err
	}
	if resp.Status == http.StatusNotFound {
		return connector.Permanent(fmt.Errorf("salesforce: the org does not serve REST API version %s (HTTP 404: %s): set api_version to one it serves, e.g. %s",
			d.cfg.APIVersion, msg, DefaultAPIVersion))
	}
	var list struct {
		SObjects []struct {
			Name  string `json:"name"`
			Label string `json:"label"`
		} `json:"sobjects"`
	}
	_ = json.Unmarshal(resp.Body, &list)
	var fields []fieldDescribe
	for _, o := range list.SObjects {
		fields = append(fields, fieldDescribe{Name: o.Name, Label: o.Label})
	}
	hint := didYouMean(d.object, fields, func(fieldDescribe) bool { return true })
	return connector.Permanent(fmt.Errorf("salesforce: sync %s: Salesforce has no object %q%s (HTTP 404: %s): set object to the API name of a standard or custom object (custom ones end in __c), and check the integration user can see it",
		d.sync.Name, d.object, hint, msg))
}

// get reads path for Check, retrying what is worth retrying (5xx, no answer,
// concurrent-request limits) as the engine retries writes. It returns a 200's or
// a 404's answer.
func (d *Destination) get(ctx context.Context, path, action string) (*saas.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := d.client.Do(ctx, nil, saas.Request{Method: http.MethodGet, Path: path})
		switch {
		case err != nil:
			err = d.requestError(action, err)
		case resp.Status == http.StatusOK || resp.Status == http.StatusNotFound:
			return resp, nil
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
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// checkFailure describes a check request Salesforce refused.
func (d *Destination) checkFailure(action string, resp *saas.Response) error {
	errs := parseErrors(resp.Body)
	msg := describeAll(errs, resp.Body)
	what := "salesforce: " + action
	switch {
	case resp.Status == http.StatusUnauthorized || hasCode(errs, codeInvalidSession):
		return connector.Permanent(fmt.Errorf("%s: HTTP %d: %s: check access_token: Salesforce does not accept it (an access token ends with its session: issue a new one for the integration user)", what, resp.Status, msg))
	case isDailyLimit(resp.Status, resp.Header, resp.Body):
		return d.markSpent(what, msg, resp.Header)
	case resp.Throttled:
		return fmt.Errorf("%s: %w", what, resp.Error(msg))
	case resp.Status == http.StatusForbidden:
		return connector.Permanent(fmt.Errorf("%s: HTTP 403: %s: check the integration user's access: it needs the API Enabled permission and access to %s", what, msg, d.object))
	}
	return fmt.Errorf("%s: %w", what, resp.Error(msg))
}
