package hubspot

import (
	"fmt"
	"net/http"
	"time"
)

type accountDetails struct {
	PortalID              int64    `json:"portalId"`
	AccountType           string   `json:"accountType"`
	TimeZone              string   `json:"timeZone"`
	CompanyCurrency       string   `json:"companyCurrency"`
	AdditionalCurrencies  []string `json:"additionalCurrencies"`
	UTCOffset             string   `json:"utcOffset"`
	UTCOffsetMilliseconds int64    `json:"utcOffsetMilliseconds"`
	UIDomain              string   `json:"uiDomain"`
	DataHostingLocation   string   `json:"dataHostingLocation"`
}

// accountDetails answers GET /account-info/v3/details.
func (s *Server) accountDetails(c *call) reply {
	_, offset := s.opts.Now().In(s.loc).Zone()
	sign, abs := '+', offset
	if offset < 0 {
		sign, abs = '-', -offset
	}
	return jsonReply(http.StatusOK, accountDetails{
		PortalID:              s.opts.PortalID,
		AccountType:           "STANDARD",
		TimeZone:              s.opts.TimeZone,
		CompanyCurrency:       s.opts.Currency,
		AdditionalCurrencies:  []string{},
		UTCOffset:             fmt.Sprintf("%c%02d:%02d", sign, abs/3600, abs%3600/60),
		UTCOffsetMilliseconds: int64(offset) * 1000,
		UIDomain:              "app.hubspot.com",
		DataHostingLocation:   "na1",
	})
}

type usageResult struct {
	Name         string `json:"name"`
	UsageLimit   int64  `json:"usageLimit"`
	CurrentUsage int64  `json:"currentUsage"`
	CollectedAt  string `json:"collectedAt"`
	FetchStatus  string `json:"fetchStatus"`
	ResetsAt     string `json:"resetsAt"`
}

// apiUsage answers GET /account-info/v3/api-usage/daily/private-apps: today's
// requests (this one included) against the daily limit.
func (s *Server) apiUsage(c *call) reply {
	used, limit, resetIn := s.limits.used()
	now := s.opts.Now()
	return jsonReply(http.StatusOK, map[string][]usageResult{"results": {{
		Name:         "private-apps-api-calls-daily",
		UsageLimit:   limit,
		CurrentUsage: used,
		CollectedAt:  instant(now),
		FetchStatus:  "SUCCESS",
		ResetsAt:     instant(now.Add(resetIn).Round(time.Second)),
	}}})
}
