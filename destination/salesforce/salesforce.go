// Package salesforce is the Salesforce destination: rows become records of an
// sObject, written through sObject Collections (200 records a request) for small
// runs and Bulk API 2.0 ingest jobs (CSV) for large ones, through the shared SaaS
// writer (connector/saas), within the org's daily API request allocation. The
// contract is documented in docs/destinations/salesforce.md.
package salesforce

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

// Spec registers the destination type "salesforce".
var Spec = connector.DestinationSpec{
	Type:          "salesforce",
	Summary:       "Create, update, upsert or delete Salesforce records (Account, Contact, custom objects) with sObject Collections or Bulk API 2.0",
	NewConfig:     func() any { return new(Config) },
	NewSyncConfig: func() any { return new(SyncConfig) },
	Modes:         []connector.Mode{connector.ModeInsert, connector.ModeUpdate, connector.ModeUpsert, connector.ModeMirror},
	Open:          open,
}

// Destination writes one sync's batches to one sObject.
type Destination struct {
	cfg     Config
	sync    connector.SyncInfo
	object  string
	mode    connector.Mode
	log     *slog.Logger
	api     string // auto, collections or bulk
	dataAPI string // /services/data/vXX.X

	extID            string // the external ID field; "" when none
	extField         int    // index in sync.Fields of its value; -1 means the row's key
	byID             bool   // update mode with a column mapped to Id
	idIndex          int    // index in sync.Fields of the Id column (byID)
	fields           []field
	extNumeric       atomic.Bool // the external ID is a number field (learned by Check)
	extCaseSensitive atomic.Bool // its text values match with case (learned by Check)

	limits    saas.Limits
	bulkBatch int
	http      *http.Client
	client    *saas.Client

	bulk     atomic.Bool            // this run writes with Bulk API 2.0
	autoBulk atomic.Bool            // the run chose Bulk by its size (api: auto)
	spent    atomic.Pointer[string] // why the daily allocation stopped the run
	jsonHint atomic.Int64           // the last sObject Collections body's size
	csvHint  atomic.Int64           // the last Bulk upload's size
	// jobSpan is how long the last Bulk job took from closing to processed
	// (nanoseconds; 0 until one was): see pollLimit.
	jobSpan atomic.Int64
	// usage is the org's API usage Salesforce last reported (Sforce-Limit-Info).
	usage atomic.Pointer[saas.DailyState]

	// Timings, set from the package's defaults; tests shorten them.
	lockPause, pollFirst, pollMax, jobWait time.Duration
}

// field is one field written: its index in the record's fields, its name, and
// its name quoted for JSON with the colon (`"Name":`).
type field struct {
	index  int
	name   string
	quoted []byte
}

var (
	_ connector.Destination   = (*Destination)(nil)
	_ connector.Checker       = (*Destination)(nil)
	_ connector.RunPlanner    = (*Destination)(nil)
	_ connector.ModeValidator = (*SyncConfig)(nil)
)

// Log attribute keys.
const (
	logSync   = "sync"
	logObject = "object"
	logAPI    = "api"
	logJob    = "job"
	logError  = "error"
)

func open(ctx context.Context, p connector.DestinationParams) (connector.Destination, error) {
	given, ok := p.Config.(*Config)
	if !ok || given == nil {
		return nil, connector.Permanent(fmt.Errorf("salesforce: config is %T, want *salesforce.Config", p.Config))
	}
	cfg := *given
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion // a config built in code may skip SetDefaults
	}
	if cfg.BulkBatchSize == 0 {
		cfg.BulkBatchSize = defaultBulkBatch
	}
	if err := cfg.Validate(); err != nil {
		return nil, connector.Permanent(fmt.Errorf("salesforce: %w", err))
	}
	base, _ := saas.BaseURL(cfg.InstanceURL, "")
	cfg.InstanceURL = base
	sc, _ := p.SyncConfig.(*SyncConfig)
	if sc == nil || strings.TrimSpace(sc.Object) == "" {
		return nil, connector.Permanent(fmt.Errorf("salesforce: sync %s: object is required: the sObject to write (Account, Contact, or a custom object's API name)", p.Sync.Name))
	}
	copied := *sc
	sc = &copied
	if sc.API == "" {
		sc.API = apiAuto
	}
	if err := sc.Validate(); err != nil {
		return nil, connector.Permanent(fmt.Errorf("salesforce: sync %s: %w", p.Sync.Name, err))
	}
	if !p.Sync.Mode.Valid() {
		return nil, connector.Permanent(fmt.Errorf("salesforce: sync %s: unknown mode %q", p.Sync.Name, p.Sync.Mode))
	}
	if err := sc.ValidateMode(p.Sync.Mode); err != nil {
		return nil, connector.Permanent(fmt.Errorf("salesforce: sync %s: %w", p.Sync.Name, err))
	}
	limits, err := cfg.Tuning.Resolve(cfg.api())
	if err != nil {
		return nil, connector.Permanent(fmt.Errorf("salesforce: %w", err))
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Destination{
		cfg: cfg, sync: p.Sync, object: sc.Object, mode: p.Sync.Mode, api: sc.API,
		log:       logger.With(logSync, p.Sync.Name, logObject, sc.Object),
		dataAPI:   "/services/data/v" + cfg.APIVersion,
		limits:    limits,
		bulkBatch: cfg.BulkBatchSize,
		http:      saas.NewHTTPClient(limits.InFlight, limits.Timeout),
		lockPause: lockRetryPause, pollFirst: pollFirst, pollMax: pollMax, jobWait: maxJobWait,
	}
	if err := d.planFields(sc); err != nil {
		return nil, connector.Permanent(err)
	}
	d.bulk.Store(sc.API == apiBulk)
	d.client = &saas.Client{
		BaseURL: cfg.InstanceURL, HTTP: d.http,
		// The daily allocation is the org's, and the instance URL names the org:
		// every sync writing to it in the process shares one budget.
		Budget:      saas.SharedBudget("salesforce|"+cfg.InstanceURL, limits.Rate, limits.InFlight),
		Authorize:   d.authorize,
		Observe:     d.observe,
		IsThrottled: isThrottled,
		UserAgent:   "sluice",
		// A Bulk job's results echo its upload.
		MaxResponse: 2 * bulkMaxBytes,
	}
	return d, nil
}

// planFields works out which field identifies a record and which are written,
// refusing what cannot work for the sync's mode.
func (d *Destination) planFields(sc *SyncConfig) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("salesforce: sync %s: "+format, append([]any{d.sync.Name}, args...)...)
	}
	d.extID, d.extField, d.idIndex = sc.ExternalIDField, -1, -1
	for i, name := range d.sync.Fields {
		if name == "" {
			return fail("a mapping has an empty destination field")
		}
		if strings.EqualFold(name, idField) {
			if d.mode != connector.ModeUpdate {
				return fail("maps a column to Id, Salesforce's record id, which it sets itself: %s mode finds records by external_id_field; only update mode takes a column mapped to Id", d.mode)
			}
			d.byID, d.idIndex = true, i
			continue
		}
		if !isAPIName(name) {
			return fail("maps a column to %q, which is not a field API name (letters, digits and _, e.g. Students_Online__c)", name)
		}
		for _, f := range d.fields {
			if strings.EqualFold(f.name, name) {
				return fail("maps two columns to field %s (Salesforce field names ignore case): map each field once", name)
			}
		}
		q := record.AppendJSONString(nil, name)
		d.fields = append(d.fields, field{index: i, name: name, quoted: append(q, ':')})
	}
	if d.mode == connector.ModeUpdate && !d.byID && d.extID == "" {
		return fail("update mode needs a way to find each record: set external_id_field to an External ID field a mapping writes, or map a column holding the record Id to Id, e.g. {from: salesforce_id, to: Id}")
	}
	if d.extID != "" {
		d.extField = slices.IndexFunc(d.sync.Fields, func(n string) bool { return strings.EqualFold(n, d.extID) })
		if d.extField < 0 && !strings.EqualFold(d.sync.KeyField, d.extID) {
			return fail("external_id_field %s is not among the fields the sync writes (%s): map the model column that holds it, e.g. {from: id, to: %s}",
				d.extID, strings.Join(d.sync.Fields, ", "), d.extID)
		}
		if d.extField < 0 {
			// The model's key is the external ID, unmapped: write it too, from the key.
			q := record.AppendJSONString(nil, d.extID)
			d.fields = append(d.fields, field{index: -1, name: d.extID, quoted: append(q, ':')})
		}
	}
	if len(d.fields) == 0 && d.mode != connector.ModeMirror {
		return fail("writes no field: map at least one model column to a field of %s", d.object)
	}
	return nil
}

// Capabilities are the limits of the API the run writes with, lowered by the
// user's keys: 200 records a request with sObject Collections, bulk_batch_size
// records a job with Bulk API 2.0.
func (d *Destination) Capabilities() connector.Capabilities {
	c := d.limits.Capabilities()
	rate := d.client.Budget.Limits()
	c.Limits = &rate
	if d.bulk.Load() {
		c.MaxBatchRecords = d.bulkBatch
		c.MaxBatchBytes = bulkMaxBytes
		c.MaxInFlight = min(c.MaxInFlight, bulkJobsInFlight)
	}
	return c
}

// Close releases idle connections.
func (d *Destination) Close() error {
	d.http.CloseIdleConnections()
	return nil
}

func (d *Destination) authorize(r *http.Request) {
	r.Header.Set("Authorization", "Bearer "+d.cfg.AccessToken)
}
