package salesforce

import (
	"context"

	"github.com/sluicehq/sluice/connector"
)

// PlanRun chooses the API a run writes with, before its first batch: with api:
// auto, Bulk API 2.0 when the run sends more than BulkThreshold changes (one job
// of bulk_batch_size records costs about seven requests where sObject
// Collections would spend one per 200 records, but a job's results come back
// only after it is processed), sObject Collections otherwise. api: collections
// and api: bulk force the choice. The engine reads Capabilities after it, so the
// batches are cut to the API's size.
func (d *Destination) PlanRun(ctx context.Context, p connector.RunPlan) error {
	bulk := false
	switch d.api {
	case apiBulk:
		bulk = true
	case apiAuto:
		bulk = p.Total() > BulkThreshold && d.canBulk()
	}
	d.bulk.Store(bulk)
	d.autoBulk.Store(bulk && d.api == apiAuto)
	api := "sObject Collections"
	if bulk {
		api = "Bulk API 2.0"
	}
	d.log.Info("planned the run", logAPI, api, "changes", p.Total(), "threshold", BulkThreshold)
	return nil
}

// canBulk reports whether Bulk API 2.0 can tell each row's result apart: its
// results come back out of order and echo only the object's own columns, so an
// insert needs the external ID (update and delete carry the record Id).
func (d *Destination) canBulk() bool {
	return d.mode != connector.ModeInsert || d.extID != ""
}

// viaBulk reports whether n records of a batch go as a Bulk API 2.0 job. A run
// that api: auto sent to Bulk still writes a batch of 200 records or fewer
// (the run's last, a few removals) through sObject Collections: one request
// instead of a job's six or more.
func (d *Destination) viaBulk(n int) bool {
	if !d.bulk.Load() {
		return false
	}
	return !d.autoBulk.Load() || n > smallBulkBatch
}
