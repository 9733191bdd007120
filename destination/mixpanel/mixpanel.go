// Package mixpanel is the Mixpanel destination: rows become events appended
// through /import, or user-profile updates ($set, $unset, $delete) sent through
// /engage. Requests go through the shared SaaS writer (connector/saas), paced by
// Mixpanel's 2 GB-per-minute ingestion limit. The contract is documented in
// docs/destinations/mixpanel.md.
package mixpanel

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// Spec registers the destination type "mixpanel".
var Spec = connector.DestinationSpec{
	Type:          "mixpanel",
	Summary:       "Append events through /import and update user profiles through /engage",
	NewConfig:     func() any { return new(Config) },
	NewSyncConfig: func() any { return new(SyncConfig) },
	// Events take insert only; Open refuses the other modes for them.
	Modes: []connector.Mode{connector.ModeInsert, connector.ModeUpdate, connector.ModeUpsert, connector.ModeMirror},
	Open:  open,
}

// DefaultBaseURL is Mixpanel's US ingestion host. Projects with EU or India data
// residency use https://api-eu.mixpanel.com or https://api-in.mixpanel.com.
const DefaultBaseURL = "https://api.mixpanel.com"

// API is what Mixpanel's ingestion API allows
// (https://docs.mixpanel.com/reference/import-events#rate-limits): 2,000 records
// and 10 MB of uncompressed JSON per request, 2 GB of JSON per project per rolling
// minute. Mixpanel advises 10–20 concurrent clients; Sluice allows up to 20.
var API = saas.API{
	Name:         "Mixpanel",
	BatchRecords: 2000,
	BatchBytes:   10_000_000,
	InFlight:     20,
	Limits:       connector.RateLimits{Bytes: 2 << 30, Window: time.Minute},

	DefaultInFlight: 8,
	DefaultAttempts: 8,
	DefaultTimeout:  60 * time.Second,
}

// Config is a Mixpanel destination's keys in the project file.
type Config struct {
	ProjectID      string         `yaml:"project_id" doc:"The project's numeric id (Project Settings → Overview); required with service_account."`
	ServiceAccount ServiceAccount `yaml:"service_account" doc:"A service account with the Owner or Admin role in the project: authenticates /import."`
	ProjectToken   string         `yaml:"project_token" secret:"true" doc:"The project token (Project Settings → Access Keys): authenticates /import when no service account is set, and is required for object: profiles (/engage takes no other credential)."`
	BaseURL        string         `yaml:"base_url" doc:"The ingestion host: https://api.mixpanel.com, https://api-eu.mixpanel.com (EU data residency) or https://api-in.mixpanel.com (India)."`
	saas.Tuning    `yaml:",inline"`
}

// ServiceAccount is a Mixpanel service account's credentials.
type ServiceAccount struct {
	Username string `yaml:"username" doc:"The service account's username."`
	Secret   string `yaml:"secret" secret:"true" doc:"The service account's secret."`
}

// SetDefaults fills in defaults before the project file's keys are decoded.
func (c *Config) SetDefaults() {
	c.BaseURL = DefaultBaseURL
	c.BatchSize = API.BatchRecords
	c.MaxInFlight = API.DefaultInFlight
	c.MaxAttempts = API.DefaultAttempts
	c.Timeout = API.DefaultTimeout
}

// Validate checks the keys.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, &connector.FieldError{Field: field, Message: msg}) }
	if _, err := saas.BaseURL(c.BaseURL, DefaultBaseURL); err != nil {
		bad("base_url", err.Error())
	}
	sa := c.ServiceAccount
	switch {
	case sa.Username == "" && sa.Secret == "" && c.ProjectToken == "":
		bad("service_account", "Mixpanel needs credentials: set service_account {username, secret} with project_id, or project_token")
	case sa.Username != "" && sa.Secret == "":
		bad("service_account.secret", "is missing: set the service account's secret, e.g. secret: ${env:MIXPANEL_SECRET}")
	case sa.Username == "" && sa.Secret != "":
		bad("service_account.username", "is missing: set the service account's username")
	}
	if sa.Username != "" && c.ProjectID == "" {
		bad("project_id", "is required with service_account: set the project's numeric id (Project Settings → Overview)")
	}
	if c.ProjectID != "" && strings.Trim(c.ProjectID, "0123456789") != "" {
		bad("project_id", fmt.Sprintf("%q is not a project id: use the project's numeric id, e.g. \"2195193\"", c.ProjectID))
	}
	if err := c.Tuning.Validate(API); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Objects a sync can write.
const (
	ObjectEvents   = "events"
	ObjectProfiles = "profiles"
)

// SyncConfig is the keys a sync writing to Mixpanel adds. Its column keys name
// model columns the engine carries beside the mapped fields (connector.ColumnUser).
type SyncConfig struct {
	Object     string `yaml:"object" required:"true" doc:"What the rows become: events (appended through /import) or profiles (user profiles through /engage)."`
	Event      string `yaml:"event" doc:"events: the column holding each event's name."`
	DistinctID string `yaml:"distinct_id" doc:"The column identifying the user: the event's distinct_id, the profile's $distinct_id."`
	Time       string `yaml:"time" doc:"events: the column holding when the event happened: a timestamp, a date, seconds or milliseconds since the epoch, or RFC 3339 text."`
}

var _ connector.ColumnUser = (*SyncConfig)(nil)

// ColumnKeys names the columns the sync uses beside its mappings.
func (s *SyncConfig) ColumnKeys() []connector.ColumnKey {
	return []connector.ColumnKey{
		{Key: "event", Column: s.Event},
		{Key: "distinct_id", Column: s.DistinctID},
		{Key: "time", Column: s.Time},
	}
}

// Validate checks that the keys fit the object.
// ValidateMode refuses modes an object cannot take, for `sluice validate`; the
// destination checks again when it opens.
func (s *SyncConfig) ValidateMode(m connector.Mode) error {
	if s.Object == ObjectEvents && m != connector.ModeInsert {
		return &connector.FieldError{Field: "object", Message: fmt.Sprintf("events are immutable in Mixpanel: an events sync appends new rows and cannot update or delete them, so mode %s cannot apply; use mode: insert", m)}
	}
	return nil
}

func (s *SyncConfig) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, &connector.FieldError{Field: field, Message: msg}) }
	switch s.Object {
	case ObjectEvents:
		if s.Event == "" {
			bad("event", "events need the column holding each event's name: add event: <column>")
		}
		if s.DistinctID == "" {
			bad("distinct_id", "events need the column identifying the user: add distinct_id: <column>")
		}
		if s.Time == "" {
			bad("time", "events need the column holding when each happened: add time: <column>")
		}
	case ObjectProfiles:
		if s.DistinctID == "" {
			bad("distinct_id", "profiles need the column identifying the user: add distinct_id: <column>")
		}
		if s.Event != "" {
			bad("event", "is for object: events; a profile has no event name: remove it")
		}
		if s.Time != "" {
			bad("time", "is for object: events; a profile has no event time: remove it")
		}
	case "":
		// required:"true" reports it.
	default:
		bad("object", fmt.Sprintf("unknown object %q: use events or profiles", s.Object))
	}
	return errors.Join(errs...)
}

// Destination writes one sync's rows to a Mixpanel project.
type Destination struct {
	object string
	limits saas.Limits
	layout *layout
	token  string // the project token, for /engage

	importClient *saas.Client // authenticated for /import
	engageClient *saas.Client // /engage: the token travels in each update
	checkClient  *saas.Client // checks the credential the object needs
	credential   string       // what to check when Mixpanel refuses it, for messages

	importQuery url.Values
	engageQuery url.Values
	seed        uint64 // of $insert_id, from the sync's name

	encoders sync.Pool // *encoder
}

var (
	_ connector.Destination = (*Destination)(nil)
	_ connector.Checker     = (*Destination)(nil)
)

func open(ctx context.Context, p connector.DestinationParams) (connector.Destination, error) {
	var cfg *Config
	switch c := p.Config.(type) {
	case *Config:
		cfg = c
	case Config:
		cfg = &c
	}
	if cfg == nil {
		return nil, fmt.Errorf("mixpanel: the destination has no configuration")
	}
	var sc *SyncConfig
	switch c := p.SyncConfig.(type) {
	case *SyncConfig:
		sc = c
	case SyncConfig:
		sc = &c
	}
	if sc == nil {
		return nil, &connector.FieldError{Field: "object", Message: "is required: add object: events or object: profiles to the sync"}
	}
	if err := errors.Join(cfg.Validate(), sc.Validate()); err != nil {
		return nil, err
	}
	limits, err := cfg.Tuning.Resolve(API)
	if err != nil {
		return nil, err
	}
	base, _ := saas.BaseURL(cfg.BaseURL, DefaultBaseURL)
	d := &Destination{object: sc.Object, limits: limits, token: cfg.ProjectToken,
		seed: xxh3.HashString(p.Sync.Name)}

	switch sc.Object {
	case ObjectEvents:
		if p.Sync.Mode != connector.ModeInsert {
			return nil, &connector.FieldError{Field: "mode", Message: fmt.Sprintf("events are immutable in Mixpanel: an events sync appends new rows and cannot update or delete them, so mode %s cannot apply; use mode: insert", p.Sync.Mode)}
		}
	case ObjectProfiles:
		if cfg.ProjectToken == "" {
			return nil, &connector.FieldError{Field: "project_token", Message: fmt.Sprintf("profiles are written through /engage, which authenticates by the project token inside every update and takes no service account: add project_token: ${env:MIXPANEL_PROJECT_TOKEN} to destination %s (Project Settings → Access Keys)", p.Name)}
		}
	}
	if d.layout, err = newLayout(p.Sync, sc); err != nil {
		return nil, err
	}

	account := cfg.ProjectID
	if account == "" {
		sum := xxh3.HashString128(cfg.ProjectToken).Bytes()
		account = "token-" + hex.EncodeToString(sum[:8])
	}
	budget := saas.SharedBudget("mixpanel|"+base+"|"+account, limits.Rate, limits.InFlight)
	httpClient := saas.NewHTTPClient(limits.InFlight, limits.Timeout)
	newClient := func(authorize func(*http.Request)) *saas.Client {
		return &saas.Client{BaseURL: base, HTTP: httpClient, Budget: budget, Authorize: authorize, UserAgent: "sluice"}
	}
	tokenAuth := func(r *http.Request) { r.SetBasicAuth(cfg.ProjectToken, "") }

	d.importQuery = url.Values{"strict": {"1"}}
	switch sa := cfg.ServiceAccount; {
	case sa.Username != "":
		d.importClient = newClient(func(r *http.Request) { r.SetBasicAuth(sa.Username, sa.Secret) })
		d.importQuery.Set("project_id", cfg.ProjectID)
		d.credential = fmt.Sprintf("check service_account (username %q and its secret), and that the service account is a member of project %s with the Owner or Admin role", sa.Username, cfg.ProjectID)
	default:
		d.importClient = newClient(tokenAuth)
		d.credential = "check project_token: it must be the token of the project the rows are for (Project Settings → Access Keys)"
	}
	d.checkClient = d.importClient
	if sc.Object == ObjectProfiles {
		// /import takes the token as a Basic-auth username, which checks the token
		// /engage needs without writing anything.
		d.checkClient = newClient(tokenAuth)
		d.credential = "check project_token: it must be the token of the project the profiles are in (Project Settings → Access Keys)"
		d.engageClient = newClient(nil)
		// strict=1 reports failures per update; verbose=1 gives a reason when it
		// is ignored; ip=0 keeps Sluice's address out of the profiles' geolocation.
		d.engageQuery = url.Values{"strict": {"1"}, "verbose": {"1"}, "ip": {"0"}}
	}
	return d, nil
}

// Capabilities are Mixpanel's limits lowered by the configuration.
func (d *Destination) Capabilities() connector.Capabilities {
	return d.limits.Capabilities()
}

// Close releases idle connections.
func (d *Destination) Close() error {
	d.importClient.HTTP.CloseIdleConnections()
	return nil
}

// Check verifies the credential the sync needs before anything is sent: an
// /import of no events is refused with 401 when the credential is wrong, and
// with 400 (no events) when it is right.
func (d *Destination) Check(ctx context.Context) error {
	q := url.Values{}
	if d.object == ObjectEvents {
		q = d.importQuery
	}
	resp, err := d.checkClient.Do(ctx, nil, saas.Request{
		Method: http.MethodPost, Path: "/import", Query: q,
		Body: []byte("[]"), ContentType: "application/json",
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("mixpanel: check the credentials at %s: %w", d.checkClient.BaseURL, err)
	}
	if resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden {
		return connector.Permanent(fmt.Errorf("mixpanel: Mixpanel refused the credentials (HTTP %d: %s): %s", resp.Status, answerError(resp.Body), d.credential))
	}
	return nil
}

// Write sends a batch: events to /import, profile updates to /engage.
func (d *Destination) Write(ctx context.Context, b *connector.Batch) error {
	enc := d.encoder()
	defer d.encoders.Put(enc)
	if d.object == ObjectEvents {
		return d.writeEvents(ctx, b, enc)
	}
	return d.writeProfiles(ctx, b, enc)
}

func (d *Destination) encoder() *encoder {
	if e, ok := d.encoders.Get().(*encoder); ok {
		return e
	}
	return &encoder{}
}

// reservedEventProperties are set by Sluice on every event.
var reservedEventProperties = []string{"time", "distinct_id", "$insert_id", "token"}

// checkPropertyNames refuses event properties Sluice sets itself. A sync without
// mappings sends every column under its own name: the columns named time or
// distinct_id that the sync's keys already use are then left out, not refused.
func checkPropertyNames(l *layout, object string) error {
	if object != ObjectEvents {
		return nil
	}
	for i, r := range l.roles {
		name := l.names[i]
		if r != roleProperty || !slices.Contains(reservedEventProperties, name) {
			continue
		}
		if (name == "time" && name == l.timeCol) || (name == "distinct_id" && name == l.distinctCol) {
			l.roles[i] = roleOmitted
			continue
		}
		return &connector.FieldError{Field: "mappings", Message: fmt.Sprintf("property %q is set by Sluice from the sync's event keys: map the column to another name", name)}
	}
	return nil
}
