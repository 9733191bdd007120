package facebook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// audienceFields are what Check reads of the audience.
const audienceFields = "id,name,account_id,subtype,operation_status,is_value_based"

// audienceInfo is the part of a custom audience Check reads.
type audienceInfo struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	AccountID       string `json:"account_id"`
	Subtype         string `json:"subtype"`
	IsValueBased    bool   `json:"is_value_based"`
	OperationStatus *struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	} `json:"operation_status"`
}

// Check verifies, before anything is sent, that the token works and reaches the
// audience, that the audience is a customer file audience of the configured ad
// account that takes new members, and that the identifiers fit it (a
// value-based audience needs LOOKALIKE_VALUE).
func (d *Destination) Check(ctx context.Context) error {
	info, err := d.readAudience(ctx)
	if err != nil {
		return err
	}
	var problems []string
	if info.AccountID != "" && info.AccountID != d.account {
		problems = append(problems, fmt.Sprintf("belongs to ad account act_%s, not %s: set ad_account_id to act_%s (its score and budget pace the requests)", info.AccountID, d.cfg.AdAccountID, info.AccountID))
	}
	if info.Subtype != "" && info.Subtype != "CUSTOM" {
		problems = append(problems, fmt.Sprintf("is a %s audience: only customer file custom audiences (subtype CUSTOM) take members from a file; create one in Ads Manager (Create audience → Custom audience → Customer list)", info.Subtype))
	}
	if st := info.OperationStatus; st != nil && st.Code == 471 {
		problems = append(problems, "is flagged (operation_status 471: "+st.Description+"): resolve its restrictions in Audience Manager, or create a new audience")
	}
	if info.IsValueBased && d.schema.value < 0 {
		problems = append(problems, "is value-based: each row needs its customer value: add LOOKALIKE_VALUE: <column> to identifiers")
	}
	if !info.IsValueBased && d.schema.value >= 0 {
		problems = append(problems, "is not value-based: Meta ignores LOOKALIKE_VALUE for it; remove it from identifiers, or use a value-based audience")
	}
	if len(problems) > 0 {
		name := d.audience
		if info.Name != "" {
			name = fmt.Sprintf("%s (%q)", d.audience, info.Name)
		}
		return connector.Permanent(fmt.Errorf("facebook: sync %s: audience %s %s", d.sync.Name, name, strings.Join(problems, "; and ")))
	}
	return nil
}

// readAudience reads the audience, retrying what is worth retrying (throttling,
// Meta's transient errors, no answer) as the engine retries writes.
func (d *Destination) readAudience(ctx context.Context) (audienceInfo, error) {
	action := "read audience " + d.audience
	q := url.Values{"fields": {audienceFields}}
	for attempt := 1; ; attempt++ {
		resp, err := d.client.Do(ctx, nil, saas.Request{Method: http.MethodGet, Path: "/" + d.audience, Query: q})
		switch {
		case err != nil:
			err = fmt.Errorf("facebook: %s: %w", action, err)
		case resp.Status == http.StatusOK:
			var info audienceInfo
			if err := json.Unmarshal(resp.Body, &info); err != nil || info.ID == "" {
				return info, connector.Permanent(fmt.Errorf("facebook: %s: Meta's answer has no audience: %s", action, saas.Snippet(resp.Body)))
			}
			return info, nil
		default:
			err = d.failure(action, resp)
		}
		if connector.IsPermanent(err) || ctx.Err() != nil || attempt >= d.limits.Attempts {
			return audienceInfo{}, err
		}
		wait := 250 * time.Millisecond << min(attempt-1, 6)
		if delay, ok := connector.RetryDelay(err); ok && delay > 0 {
			wait = delay
		}
		if wait > maxControlWait {
			return audienceInfo{}, err
		}
		if err := d.sleep(ctx, wait); err != nil {
			return audienceInfo{}, err
		}
	}
}
