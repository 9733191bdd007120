package salesforce_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/salesforce"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/salesforce"
)

// A removed row carries the fields it was last synced with, laid out by the
// mappings of that run: its external ID is found by the field's name, whatever
// the mappings are now. A row synced without it fails, saying why, rather than
// a record kept while the row is reported removed.
func TestRemovedRowsAreFoundByTheFieldsTheyWereSyncedWith(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.seed(t, "Account", []map[string]any{
		{"District_Id__c": "d-1", "Name": "One"}, {"District_Id__c": "d-2", "Name": "Two"}, {"District_Id__c": "d-3", "Name": "Three"},
	})
	// The external ID is the third field now, and not the model's key.
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeMirror, KeyColumn: "row_id", KeyField: "row_id",
		Fields: []string{"Name", "Students_Online__c", "District_Id__c"}}
	d := tb.open(t, tb.config(nil), info, salesforce.SyncConfig{Object: "Account", ExternalIDField: "District_Id__c", API: "collections"})
	require.NoError(t, d.Check(context.Background()))
	removed := func(key string, names []string, values ...record.Value) record.Change {
		return record.Change{Op: record.OpRemove, Key: key, Fields: record.MakeFields(names, values)}
	}
	err, _ := write(d,
		removed("r-1", []string{"District_Id__c", "Name"}, "d-1", "One"),                                              // fewer fields
		removed("r-2", []string{"District_Id__c", "Students_Online__c", "Name"}, "d-2", int64(3), "Two"),              // reordered
		removed("r-3", []string{"Name", "Students_Online__c", "Plan__c"}, "Three", int64(3), "Gold"),                  // without it
		record.Change{Op: record.OpAdd, Key: "r-4", Fields: record.MakeFields([]string{"Name"}, []record.Value{"x"})}, // a broken row
	)
	require.Equal(t, map[int]string{
		2: "salesforce: delete Account: the row was last synced with the fields Name, Students_Online__c, Plan__c, without District_Id__c (external_id_field), so Salesforce cannot find its record: the mappings changed since; delete the record in Salesforce if it should go",
		3: "salesforce: upsert Account: the row carries the fields Name, without Students_Online__c, which the sync writes: the row cannot be written as the mappings say (report this as a bug in Sluice)",
	}, conformance.FailedRows(t, err))
	require.Equal(t, []string{"d-3"}, keys(tb.accounts()))
}

// When one part of a batch fails as a whole (here the writes of a mirror
// batch, with a 503), the rows that already have an outcome keep it: a removal
// Salesforce refused fails with its own reason, not the writes' error.
func TestAFailedPartKeepsTheOtherRowsOutcomes(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.seed(t, "Account", []map[string]any{{"District_Id__c": "d-1", "Name": "One"}})
	url := tb.intercept(t, func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.Method == http.MethodDelete:
			ids := strings.Split(r.URL.Query().Get("ids"), ",")
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`[{"id":"` + ids[0] + `","success":false,"errors":[{"statusCode":"INSUFFICIENT_ACCESS_OR_READONLY","message":"insufficient access rights on object id","fields":[]}]}]`))
			return true
		case r.Method == http.MethodPatch:
			unavailable(w)
			return true
		}
		return false
	})
	d := tb.districts(t, connector.ModeMirror, "collections", func(c *salesforce.Config) { c.InstanceURL = url })
	err, _ := write(d, district(record.OpRemove, "d-1", "One", 1), district(record.OpAdd, "d-2", "Two", 2), district(record.OpChange, "d-3", "Three", 3))
	var be *connector.BatchError
	require.True(t, errors.As(err, &be), "a BatchError, not the writes' error alone: %v", err)
	got := conformance.FailedRows(t, err)
	require.Equal(t, "salesforce: delete Account: INSUFFICIENT_ACCESS_OR_READONLY: insufficient access rights on object id", got[0])
	require.Contains(t, got[1], "HTTP 503")
	require.Contains(t, got[2], "HTTP 503")
}

// A mirror batch whose removals' lookup fails (a 503 past max_attempts) still
// sends its writes; once Salesforce has written them (through a Bulk job that
// is closed and processed, or sObject Collections), the lookup's error fails the
// removed rows alone. Returned for the whole batch, the engine would send the
// batch again: the writes as a second job.
func TestAFailedRemovalLookupFailsOnlyTheRemovedRows(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"bulk", "collections"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, sim.Options{})
			tb.seed(t, "Account", []map[string]any{{"District_Id__c": "d-1", "Name": "One"}})
			url := tb.intercept(t, func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/query") {
					unavailable(w)
					return true
				}
				return false
			})
			d := tb.districts(t, connector.ModeMirror, api, func(c *salesforce.Config) { c.InstanceURL = url; c.MaxAttempts = 1 })
			changes := append([]record.Change{district(record.OpRemove, "d-1", "One", 1)}, districtsRange(record.OpAdd, 10, 13, 0)...)
			err, _ := write(d, changes...)
			got := conformance.FailedRows(t, err)
			require.Len(t, got, 1, "the written rows keep their outcome: %v", got)
			require.Contains(t, got[0], "salesforce: look up Account: HTTP 503")
			require.ElementsMatch(t, []string{"d-1", "d-10", "d-11", "d-12"}, keys(tb.accounts()))
			if api == "bulk" {
				require.Len(t, tb.sim.Jobs(), 1)
			}
		})
	}
}

// Two removed rows with one external ID delete its record once; when
// Salesforce refuses that delete, both rows fail: the second is not reported
// removed while the record stays.
func TestRemovedRowsSharingAnExternalIDShareTheDeletesOutcome(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.seed(t, "Account", []map[string]any{{"District_Id__c": "d-1", "Name": "One"}})
	var deleted atomic.Int32
	url := tb.intercept(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		ids := strings.Split(r.URL.Query().Get("ids"), ",")
		deleted.Add(int32(len(ids)))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[{"id":"` + ids[0] + `","success":false,"errors":[{"statusCode":"INSUFFICIENT_ACCESS_OR_READONLY","message":"insufficient access rights on object id","fields":[]}]}]`))
		return true
	})
	d := tb.districts(t, connector.ModeMirror, "collections", func(c *salesforce.Config) { c.InstanceURL = url })
	second := district(record.OpRemove, "D-1", "One", 1)
	second.Key = "other-key"
	err, _ := write(d, district(record.OpRemove, "d-1", "One", 1), second)
	want := "salesforce: delete Account: INSUFFICIENT_ACCESS_OR_READONLY: insufficient access rights on object id"
	require.Equal(t, map[int]string{0: want, 1: want}, conformance.FailedRows(t, err))
	require.Equal(t, int32(1), deleted.Load(), "the record is deleted once")
	require.Len(t, tb.accounts(), 1)
}
