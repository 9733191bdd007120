package salesforce

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

// benchDestination is a destination writing districts' usage to Account,
// built without opening (no HTTP), to measure the encoding alone.
func benchDestination(b *testing.B) (*Destination, *connector.Batch, []recordOp) {
	b.Helper()
	names := []string{"District_Id__c", "Name", "Students_Online__c", "Renewal_Date__c", "Last_Seen__c", "Active__c"}
	d := &Destination{object: "Account", mode: connector.ModeUpsert, sync: connector.SyncInfo{Name: "bench", Fields: names}}
	if err := d.planFields(&SyncConfig{Object: "Account", ExternalIDField: "District_Id__c"}); err != nil {
		b.Fatal(err)
	}
	var changes []record.Change
	for i := range 10_000 {
		id := fmt.Sprintf("D-%d", i)
		values := []record.Value{id, "District " + id + ", \"North\"", int64(i % 500), record.Date{Year: 2026, Month: 9, Day: 1},
			time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), i%2 == 0}
		changes = append(changes, record.Change{Op: record.OpAdd, Key: id, Fields: record.EncodedFields(names, record.AppendValues(nil, values))})
	}
	batch := connector.NewBatch("bench", "run", "b", changes, nil)
	ops := make([]recordOp, len(changes))
	for i := range changes {
		ops[i] = recordOp{row: i, values: changes[i].Fields.Values()}
	}
	return d, batch, ops
}

// BenchmarkCollectionBody encodes one sObject Collections request of 200 records.
func BenchmarkCollectionBody(b *testing.B) {
	d, batch, ops := benchDestination(b)
	ops = ops[:maxCollectionRecords]
	b.ReportAllocs()
	for b.Loop() {
		body := d.collectionBody(batch, opUpsert, ops)
		b.SetBytes(int64(len(body)))
	}
}

// BenchmarkBulkCSV encodes one Bulk API 2.0 upload of 10,000 records.
func BenchmarkBulkCSV(b *testing.B) {
	d, batch, ops := benchDestination(b)
	b.ReportAllocs()
	for b.Loop() {
		body := d.bulkCSV(batch, opUpsert, ops)
		b.SetBytes(int64(len(body)))
	}
}
