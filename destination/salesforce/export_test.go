package salesforce

import "time"

// SetTimings shortens the pause before locked records are sent again and the
// polling of Bulk jobs, for tests.
func (d *Destination) SetTimings(lockPause, pollFirst, pollMax time.Duration) {
	d.lockPause, d.pollFirst, d.pollMax = lockPause, pollFirst, pollMax
}

// SharesBudget reports whether two destinations pace their requests by one budget.
func SharesBudget(a, b *Destination) bool { return a.client.Budget == b.client.Budget }

// SetJobWait shortens how long a Bulk job may take before it is aborted, and
// how long a closed job's results are read again when reading them fails.
func (d *Destination) SetJobWait(wait time.Duration) { d.jobWait = wait }
