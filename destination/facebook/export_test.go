package facebook

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/connector/saas"
)

// SetSessionIDs makes replace session ids come from next, for golden files; it
// returns what restores the random ids.
func SetSessionIDs(next func() int64) (restore func()) {
	old := newSessionID
	newSessionID = next
	return func() { newSessionID = old }
}

// SetClock makes the destination's clock (a replace session's age) and its
// waits between a control batch's attempts come from now and sleep, so that a
// test does not wait out Meta's throttling.
func (d *Destination) SetClock(now func() time.Time, sleep func(context.Context, time.Duration) error) {
	d.now, d.sleep = now, sleep
}

// SetBudget replaces the destination's rate budget: a throttling answer pauses
// the shared one on the real clock, which a test's fake clock cannot move.
func (d *Destination) SetBudget(b *saas.Budget) { d.client.Budget = b }
