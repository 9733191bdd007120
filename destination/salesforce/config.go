package salesforce

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
)

// Config is a salesforce destination's keys in the project file.
type Config struct {
	InstanceURL string `yaml:"instance_url" required:"true" doc:"The org's My Domain URL, e.g. https://acme.my.salesforce.com (or a simulator's address)."`
	AccessToken string `yaml:"access_token" required:"true" secret:"true" doc:"An OAuth access token of the integration user, e.g. ${env:SF_TOKEN}; the user needs API Enabled and create, edit (and for mirror, delete) access to the object and its mapped fields."`
	APIVersion  string `yaml:"api_version" doc:"The REST API version, 46.0 or later (sObject Collections upsert needs 46.0)."`
	Edition     string `yaml:"edition" doc:"The org's edition: developer, professional, enterprise, unlimited or performance. With licenses it sets the daily API request allocation; when unset the allocation is learned from Salesforce's Sforce-Limit-Info header."`
	Licenses    int    `yaml:"licenses" doc:"The org's Salesforce user licenses: each adds 1,000 requests a day on professional and enterprise, 5,000 on unlimited and performance."`
	// BulkBatchSize is the records of one Bulk API 2.0 job (one engine batch).
	BulkBatchSize int `yaml:"bulk_batch_size" doc:"Records per Bulk API 2.0 ingest job (default 10,000, at most 100,000)."`
	saas.Tuning   `yaml:",inline"`
}

// SyncConfig is what a sync writing to Salesforce adds to its keys.
type SyncConfig struct {
	Object          string `yaml:"object" required:"true" doc:"The sObject to write: Account, Contact, Lead, or a custom object's API name (Usage__c)."`
	ExternalIDField string `yaml:"external_id_field" doc:"The object's External ID field that identifies records, mapped from a model column. Required for upsert and mirror; update finds records' Ids by it unless a column is mapped to Id; insert may set it (Bulk API inserts need it)."`
	API             string `yaml:"api" doc:"auto (sObject Collections up to 2,000 changes a run, Bulk API 2.0 above), collections or bulk."`
}

// Editions lists the valid values of edition.
var Editions = []string{"developer", "professional", "enterprise", "unlimited", "performance"}

// APIs lists the valid values of a sync's api key.
var APIs = []string{apiAuto, apiCollections, apiBulk}

const (
	apiAuto        = "auto"
	apiCollections = "collections"
	apiBulk        = "bulk"
)

// Limits a user may lower but not raise, and the defaults.
const (
	// DefaultAPIVersion is the REST API version used when api_version is unset.
	DefaultAPIVersion = "62.0"
	minAPIVersion     = 46 // sObject Collections upsert

	maxCollectionRecords = 200 // sObject Collections' limit per request
	maxInFlight          = 25  // Salesforce's concurrent long-running request limit
	defaultInFlight      = 4   // parallel writes are the usual cause of UNABLE_TO_LOCK_ROW
	defaultAttempts      = 8
	defaultTimeout       = 120 * time.Second

	defaultBulkBatch = 10_000  // Salesforce's internal batch size
	maxBulkBatch     = 100_000 // the engine holds a batch in memory
	bulkJobsInFlight = 4       // jobs in flight at once, below max_in_flight
	// bulkMaxBytes keeps an upload under Salesforce's 150 MB, which it measures
	// after base64 encoding (a third larger).
	bulkMaxBytes = 100 << 20

	// BulkThreshold is the number of changes above which api: auto writes a run
	// with Bulk API 2.0 instead of sObject Collections.
	BulkThreshold = 2_000
	// smallBulkBatch is the size at or below which a batch of a run that auto
	// chose Bulk for goes through sObject Collections anyway (a job costs at
	// least six requests, a Collections request one).
	smallBulkBatch = maxCollectionRecords

	idField = "Id"
)

// DailyAllocation returns Salesforce's published daily API request allocation
// (rolling 24 hours) for an edition with licenses, and whether the edition is known.
func DailyAllocation(edition string, licenses int) (int, bool) {
	switch edition {
	case "developer":
		return 15_000, true
	case "professional", "enterprise":
		return 100_000 + 1_000*max(licenses, 0), true
	case "unlimited", "performance":
		return 100_000 + 5_000*max(licenses, 0), true
	}
	return 0, false
}

var apiVersionRE = regexp.MustCompile(`^(\d{2,3})\.0$`)

// api is what Salesforce allows the org: the bounds Tuning is checked against.
func (c *Config) api() saas.API {
	name := "Salesforce"
	daily, ok := DailyAllocation(c.Edition, c.Licenses)
	if ok {
		name = "Salesforce (" + c.Edition + " edition"
		if c.Edition != "developer" {
			name += ", " + strconv.Itoa(c.Licenses) + " licenses"
		}
		name += ")"
	}
	return saas.API{
		Name: name, BatchRecords: maxCollectionRecords, InFlight: maxInFlight,
		Limits:          connector.RateLimits{Daily: daily},
		DefaultInFlight: defaultInFlight, DefaultAttempts: defaultAttempts, DefaultTimeout: defaultTimeout,
	}
}

// SetDefaults fills in defaults before the project file's keys are decoded.
func (c *Config) SetDefaults() {
	c.APIVersion = DefaultAPIVersion
	c.BulkBatchSize = defaultBulkBatch
	c.BatchSize = maxCollectionRecords
	c.MaxInFlight = defaultInFlight
	c.MaxAttempts = defaultAttempts
	c.Timeout = defaultTimeout
}

// Validate checks the keys without contacting Salesforce.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &connector.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.AccessToken) == "" {
		bad("access_token", "is empty: set it to the integration user's OAuth access token, e.g. ${env:SF_TOKEN}")
	}
	if strings.TrimSpace(c.InstanceURL) == "" {
		bad("instance_url", "is empty: set it to the org's My Domain URL, e.g. https://acme.my.salesforce.com")
	} else if _, err := saas.BaseURL(c.InstanceURL, ""); err != nil {
		bad("instance_url", "%s", strings.ReplaceAll(err.Error(), "the API's host", "the org's My Domain URL"))
	}
	if c.APIVersion != "" {
		m := apiVersionRE.FindStringSubmatch(c.APIVersion)
		if m == nil {
			bad("api_version", "%q is not an API version: write it as a quoted string such as \"62.0\"", c.APIVersion)
		} else if n, _ := strconv.Atoi(m[1]); n < minAPIVersion {
			bad("api_version", "%s is too old: sObject Collections upsert needs %d.0 or later", c.APIVersion, minAPIVersion)
		}
	}
	editionOK := c.Edition == "" || slices.Contains(Editions, c.Edition)
	if !editionOK {
		hint := ""
		if near := connector.Closest(c.Edition, Editions); near != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", near)
		}
		bad("edition", "unknown edition %q%s: use one of %s, or remove the key to learn the allocation from Salesforce", c.Edition, hint, strings.Join(Editions, ", "))
	}
	switch {
	case c.Licenses < 0:
		bad("licenses", "must not be negative")
	case c.Licenses > 0 && c.Edition == "":
		bad("licenses", "needs edition: the allocation per license depends on it (set edition: enterprise, for example)")
	}
	if c.BulkBatchSize < 0 || c.BulkBatchSize > maxBulkBatch {
		bad("bulk_batch_size", "must be between 1 and %d records per Bulk API 2.0 job", maxBulkBatch)
	}
	if editionOK {
		if err := c.Tuning.Validate(c.api()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SetDefaults fills in the sync's defaults.
func (s *SyncConfig) SetDefaults() {
	s.API = apiAuto
}

// Validate checks the sync's keys; those that depend on the mode are checked by
// ValidateMode.
func (s *SyncConfig) Validate() error {
	var errs []error
	if s.Object != "" && !isAPIName(s.Object) {
		errs = append(errs, &connector.FieldError{Field: "object", Message: fmt.Sprintf("%q is not an sObject API name: use the object's API name, e.g. Account or Usage__c", s.Object)})
	}
	if s.ExternalIDField != "" && !isAPIName(s.ExternalIDField) {
		errs = append(errs, &connector.FieldError{Field: "external_id_field", Message: fmt.Sprintf("%q is not a field API name: use the field's API name, e.g. District_Id__c", s.ExternalIDField)})
	}
	if s.API != "" && !slices.Contains(APIs, s.API) {
		errs = append(errs, &connector.FieldError{Field: "api", Message: fmt.Sprintf("unknown api %q: use auto, collections or bulk", s.API)})
	}
	return errors.Join(errs...)
}

// ValidateMode checks the keys that depend on the sync's mode, for `sluice
// validate`; the destination checks them again when it opens.
func (s *SyncConfig) ValidateMode(m connector.Mode) error {
	switch {
	case (m == connector.ModeUpsert || m == connector.ModeMirror) && s.ExternalIDField == "":
		return &connector.FieldError{Field: "external_id_field", Message: fmt.Sprintf("is required in %s mode: set it to an External ID field of %s that a mapping writes, e.g. District_Id__c", m, s.objectName())}
	case m == connector.ModeInsert && s.API == apiBulk && s.ExternalIDField == "":
		return &connector.FieldError{Field: "api", Message: "bulk inserts need external_id_field: Bulk API 2.0 returns its results out of order, and the external ID tells each row's result apart; set external_id_field, or use api: collections"}
	}
	return nil
}

func (s *SyncConfig) objectName() string {
	if s.Object == "" {
		return "the object"
	}
	return s.Object
}

var apiNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

func isAPIName(s string) bool { return apiNameRE.MatchString(s) }
