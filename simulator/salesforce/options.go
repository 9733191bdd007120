package salesforce

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit"
)

// Edition is a Salesforce edition; with Options.Licenses it sets the org's daily
// API request allocation.
type Edition string

// The editions of Salesforce's API allocation table.
const (
	EditionDeveloper    Edition = "developer"
	EditionProfessional Edition = "professional"
	EditionEnterprise   Edition = "enterprise"
	EditionUnlimited    Edition = "unlimited"
	EditionPerformance  Edition = "performance"
)

// dailyRequests is the allocation table: a base and an amount per license.
var dailyRequests = map[Edition]struct{ base, perLicense int64 }{
	EditionDeveloper:    {15_000, 0},
	EditionProfessional: {100_000, 1_000},
	EditionEnterprise:   {100_000, 1_000},
	EditionUnlimited:    {100_000, 5_000},
	EditionPerformance:  {100_000, 5_000},
}

// Options configure the simulator. The zero value of a field means its default;
// docs/simulators/salesforce.md gives the source of each default and says which
// are unconfirmed guesses or simulator settings.
type Options struct {
	// OrgID is the org's 18-character id. Default "00D5g000004SIMUEA4".
	OrgID string
	// Tokens are the access tokens accepted as "Authorization: Bearer". Empty
	// accepts any non-empty token.
	Tokens []string
	// APIVersions are the versions accepted in /services/data/vXX.X/ paths, e.g.
	// "58.0". Empty accepts any vNN.N from 46.0 on.
	APIVersions []string

	// Edition and Licenses set the daily API request allocation (rolling 24 h):
	// 15,000 on developer; 100,000 + 1,000 × licenses on professional and
	// enterprise; 100,000 + 5,000 × licenses on unlimited and performance.
	// Default enterprise with 0 licenses.
	Edition  Edition
	Licenses int
	// DailyRequests overrides the allocation.
	DailyRequests int64
	// ConcurrentLongRequests is how many requests may be running for
	// LongRequestThreshold or more at once; another request is then refused.
	// Default 25 (5 on developer).
	ConcurrentLongRequests int
	// LongRequestThreshold is when a request counts as long-running. Default 20s.
	LongRequestThreshold time.Duration

	// MaxRecords is the most records (or ids) of one sObject Collections request.
	// Default 200.
	MaxRecords int
	// MaxBodyBytes is the largest JSON request body read. Default 50 MiB
	// (unconfirmed).
	MaxBodyBytes int64
	// FieldErrorsPerRecord makes an unknown field or a JSON value of the wrong
	// type fail only its record (INVALID_FIELD, INVALID_TYPE_ON_FIELD_IN_RECORD)
	// in sObject Collections. By default such a body fails the whole request with
	// 400, as Salesforce's JSON reader does before any record is saved
	// (unconfirmed for Collections).
	FieldErrorsPerRecord bool

	// CustomObjects defines custom objects: name (ending in __c) → fields, on top
	// of Id, Name, OwnerId and the system fields. Key prefixes are a00, a01, …
	// in name order.
	CustomObjects map[string][]Field
	// CustomFields adds fields to objects (standard or custom): object → fields.
	CustomFields map[string][]Field

	// LockErrorRate is the fraction of record writes that fail with
	// UNABLE_TO_LOCK_ROW (transient: the same record may succeed when retried).
	LockErrorRate float64
	// Reject, when set, is asked about each record a write would leave (object
	// and all its fields after the write); a non-empty statusCode fails the
	// record with it and message. It runs with the org locked and must not call
	// the Server. SetReject changes it while the simulator runs.
	Reject func(object string, fields map[string]any) (statusCode, message string)
	// Seed seeds the random choices (lock errors, the order of Bulk results).
	// Default 1: runs are repeatable.
	Seed uint64

	// BulkRecordsPerSecond is how fast the org processes Bulk API 2.0 ingest
	// records, shared by all jobs in the order they were closed. Default 5,000
	// (a simulator setting: Salesforce publishes no rate).
	BulkRecordsPerSecond float64
	// BulkStartDelay is how long a closed job waits before processing starts
	// (state UploadComplete). Default 0 (a simulator setting).
	BulkStartDelay time.Duration
	// BulkBatchSize is the size of the internal batches a job is split into;
	// numberRecordsProcessed grows a batch at a time. Default 10,000.
	BulkBatchSize int
	// BulkDailyRecords is the most ingest records processed per rolling 24 h.
	// Default 150,000,000.
	BulkDailyRecords int64
	// BulkDailyBatches is the most internal batches per rolling 24 h. Default 15,000.
	BulkDailyBatches int64
	// MaxUploadBytes is the largest upload, measured as its base64 encoding as
	// Salesforce does. Default 150 MiB.
	MaxUploadBytes int64
	// BulkMultipleUploads lets a job take more than one upload (each with the
	// same header row). By default a second upload is accepted but closing the
	// job then fails with INVALIDJOB, as reported of the live API (unconfirmed).
	BulkMultipleUploads bool
	// BulkResultsInOrder returns Bulk results in input order. By default the rows
	// of each internal batch are shuffled (seeded by Seed): Salesforce does not
	// keep input order.
	BulkResultsInOrder bool

	// Now is the clock. Default time.Now.
	Now simkit.Clock
	// KeepBodies keeps request bodies in the log.
	KeepBodies bool
	// LogLimit is the most requests the log keeps. Default 100,000.
	LogLimit int
}

// minAPIVersion is the oldest version accepted when APIVersions is empty: the one
// sObject Collections upsert needs.
const minAPIVersion = 46

// latestAPIVersion is the newest version GET /services/data lists (Spring '26).
const latestAPIVersion = 66

// WithDefaults returns the options with every unset field at its default; the
// edition's allocation is resolved into DailyRequests.
func (o Options) WithDefaults() Options {
	if o.OrgID == "" {
		o.OrgID = withChecksum("00D5g000004SIMU")
	}
	if o.Edition == "" {
		o.Edition = EditionEnterprise
	}
	if a, ok := dailyRequests[o.Edition]; ok && o.DailyRequests == 0 {
		o.DailyRequests = a.base + a.perLicense*int64(o.Licenses)
	}
	if o.ConcurrentLongRequests == 0 {
		o.ConcurrentLongRequests = 25
		if o.Edition == EditionDeveloper {
			o.ConcurrentLongRequests = 5
		}
	}
	if o.LongRequestThreshold == 0 {
		o.LongRequestThreshold = 20 * time.Second
	}
	if o.MaxRecords == 0 {
		o.MaxRecords = 200
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 50 << 20
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.BulkRecordsPerSecond == 0 {
		o.BulkRecordsPerSecond = 5000
	}
	if o.BulkBatchSize == 0 {
		o.BulkBatchSize = 10_000
	}
	if o.BulkDailyRecords == 0 {
		o.BulkDailyRecords = 150_000_000
	}
	if o.BulkDailyBatches == 0 {
		o.BulkDailyBatches = 15_000
	}
	if o.MaxUploadBytes == 0 {
		o.MaxUploadBytes = 150 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

var (
	versionRE    = regexp.MustCompile(`^\d{2,3}\.\d$`)
	customNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*__c$`)
)

// Validate reports what is wrong with the options (after defaults), naming the field.
func (o Options) Validate() error {
	o = o.WithDefaults()
	var errs []error
	if _, ok := dailyRequests[o.Edition]; !ok {
		errs = append(errs, fmt.Errorf("salesforce: Edition %q: want developer, professional, enterprise, unlimited or performance", o.Edition))
	}
	if o.Licenses < 0 {
		errs = append(errs, fmt.Errorf("salesforce: Licenses %d must not be negative", o.Licenses))
	}
	if !validID(o.OrgID) || !strings.HasPrefix(o.OrgID, "00D") {
		errs = append(errs, fmt.Errorf("salesforce: OrgID %q: want an 18-character id starting with 00D", o.OrgID))
	}
	for _, v := range o.APIVersions {
		if !versionRE.MatchString(v) {
			errs = append(errs, fmt.Errorf("salesforce: APIVersions %q: want a version such as 58.0", v))
		}
	}
	if o.DailyRequests < 0 || o.ConcurrentLongRequests < 0 || o.LongRequestThreshold < 0 {
		errs = append(errs, errors.New("salesforce: DailyRequests, ConcurrentLongRequests and LongRequestThreshold must not be negative"))
	}
	if o.MaxRecords < 0 || o.MaxBodyBytes < 0 || o.MaxUploadBytes < 0 {
		errs = append(errs, errors.New("salesforce: MaxRecords, MaxBodyBytes and MaxUploadBytes must not be negative"))
	}
	if o.LockErrorRate < 0 || o.LockErrorRate > 1 {
		errs = append(errs, fmt.Errorf("salesforce: LockErrorRate %v: want a fraction from 0 to 1", o.LockErrorRate))
	}
	if o.BulkRecordsPerSecond < 0 || o.BulkStartDelay < 0 || o.BulkBatchSize < 0 || o.BulkDailyRecords < 0 || o.BulkDailyBatches < 0 {
		errs = append(errs, errors.New("salesforce: BulkRecordsPerSecond, BulkStartDelay, BulkBatchSize, BulkDailyRecords and BulkDailyBatches must not be negative"))
	}
	for _, name := range sortedKeys(o.CustomObjects) {
		if !customNameRE.MatchString(name) {
			errs = append(errs, fmt.Errorf("salesforce: CustomObjects %q: a custom object's name is letters, digits and _ ending in __c", name))
		}
		for _, f := range o.CustomObjects[name] {
			if err := f.check(); err != nil {
				errs = append(errs, fmt.Errorf("salesforce: CustomObjects %q: %w", name, err))
			}
		}
	}
	for _, name := range sortedKeys(o.CustomFields) {
		_, standard := standardObjects[name]
		_, custom := o.CustomObjects[name]
		if !standard && !custom {
			errs = append(errs, fmt.Errorf("salesforce: CustomFields %q: no such object (standard objects are Account, Contact, Lead and Opportunity; define custom ones in CustomObjects)", name))
		}
		for _, f := range o.CustomFields[name] {
			if err := f.check(); err != nil {
				errs = append(errs, fmt.Errorf("salesforce: CustomFields %q: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Describe is a one-line summary of the simulated org for a CLI banner.
func (o Options) Describe() string {
	o = o.WithDefaults()
	auth := "any bearer token"
	if len(o.Tokens) > 0 {
		auth = fmt.Sprintf("%d bearer token(s)", len(o.Tokens))
	}
	objects := []string{"Account", "Contact", "Lead", "Opportunity"}
	objects = append(objects, sortedKeys(o.CustomObjects)...)
	return fmt.Sprintf("Salesforce REST (sObject Collections, Bulk API 2.0 ingest): org %s, %s edition: %d API requests per rolling 24 h, "+
		"Bulk %g records/s in batches of %d (%d records, %d batches per 24 h); objects %s; %s",
		o.OrgID, o.Edition, o.DailyRequests, o.BulkRecordsPerSecond, o.BulkBatchSize, o.BulkDailyRecords, o.BulkDailyBatches,
		strings.Join(objects, ", "), auth)
}
