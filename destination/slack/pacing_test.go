package slack_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/slack"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/slack"
)

// Messages to one channel leave one per second, as Slack allows; two channels
// are paced apart, in parallel. Nothing meets a 429.
func TestPacingIsOneMessagePerSecondPerChannel(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{}) // Slack's limits: 1/s per channel, bursts of 2
	const perChannel = 4
	channels := []string{alerts, ops}
	waits := make([]time.Duration, len(channels))
	start := time.Now()
	var wg sync.WaitGroup
	for c, channel := range channels {
		sc := syncConfig(channel)
		d := tb.open(t, tb.botConfig(), connector.ModeInsert, sc)
		wg.Go(func() {
			for i := range perChannel {
				// One change per Write, one Write at a time: what the engine does
				// with the destination's capabilities.
				err, exchanges := write(d, account(record.OpAdd, sc, fmt.Sprint(i), fmt.Sprintf("%s-%d", channel, i), int64(i), "", nil))
				if !assert(t, err == nil, "%v", err) {
					return
				}
				waits[c] += exchanges[0].Wait
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	require.Zero(t, tb.sim.Counters().Throttled.Load(), "no 429")
	for c, channel := range channels {
		msgs := tb.sim.Messages(channel)
		require.Len(t, msgs, perChannel)
		for i := 1; i < len(msgs); i++ {
			gap := msgs[i].Time.Sub(msgs[i-1].Time)
			require.GreaterOrEqual(t, gap, 900*time.Millisecond, "%s: message %d came %s after the one before", channel, i, gap)
		}
		require.Equal(t, fmt.Sprintf("%s-%d has %d unused seats (owner )", channel, perChannel-1, perChannel-1), msgs[perChannel-1].Text, "in order")
		require.Greater(t, waits[c], 2500*time.Millisecond, "the wait is reported on the exchanges")
	}
	// Each channel's 4 messages need 3 s at one per second; run one after the
	// other, the two channels would need 7.
	require.GreaterOrEqual(t, elapsed, 3*time.Second)
	require.Less(t, elapsed, 5*time.Second, "the channels are paced apart")
	ceiling := 3 * time.Second
	require.GreaterOrEqual(t, float64(ceiling)/float64(elapsed), 0.9, "close to one message per second: %s for 4", elapsed)
}

// assert reports a failure from a goroutine other than the test's.
func assert(t *testing.T, ok bool, format string, args ...any) bool {
	if !ok {
		t.Errorf(format, args...)
	}
	return ok
}

// Syncs posting to the same channel with the same token share one budget (one
// second per message between them); another channel or another app's token
// has its own.
func TestSyncsShareTheirChannelsBudget(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{Tokens: []string{testToken, "xoxb-another-app"}})
	a := tb.open(t, tb.botConfig(), connector.ModeInsert, syncConfig(alerts))
	b := tb.open(t, tb.botConfig(), connector.ModeUpsert, syncConfig(alerts))
	require.True(t, slack.SharesBudget(a, b))
	require.False(t, slack.SharesBudget(a, tb.open(t, tb.botConfig(), connector.ModeInsert, syncConfig(ops))))
	require.False(t, slack.SharesBudget(a, tb.open(t, tb.botConfig(func(c *slack.Config) { c.BotToken = "xoxb-another-app" }), connector.ModeInsert, syncConfig(alerts))))
	h1 := tb.open(t, tb.hookConfig(), connector.ModeInsert, &slack.SyncConfig{Template: "x"})
	h2 := tb.open(t, tb.hookConfig(), connector.ModeInsert, &slack.SyncConfig{Template: "y"})
	require.True(t, slack.SharesBudget(h1, h2), "one webhook, one channel")
}

// When the channel's allowance is spent by someone else, Slack answers 429 with
// Retry-After: the message waits it out, is posted, and none is lost or out of
// order.
func TestThrottledMessagesWaitForRetryAfter(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	sc := syncConfig(alerts)
	d := tb.open(t, tb.botConfig(), connector.ModeInsert, sc)

	// Another app of the workspace posts twice (Slack's burst) to the channel.
	for range 2 {
		body := []byte(`{"channel":"` + alerts + `","text":"someone else"}`)
		req, _ := http.NewRequest(http.MethodPost, tb.srv.URL+"/chat.postMessage", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}

	start := time.Now()
	var waited time.Duration
	throttled := 0
	for i := range 3 {
		c := account(record.OpAdd, sc, fmt.Sprint(i), fmt.Sprint("row ", i), int64(i), "", nil)
		for attempt := 1; ; attempt++ {
			require.Less(t, attempt, 5)
			err, _ := write(d, c)
			if err == nil {
				break
			}
			// What the engine does with a throttled batch.
			delay, ok := connector.RetryDelay(err)
			require.True(t, ok && connector.RateLimited(err), "%v", err)
			throttled++
			waited += delay
			time.Sleep(delay)
		}
	}
	require.Equal(t, 1, throttled, "one 429, then the budget paces the rest")
	require.GreaterOrEqual(t, waited, time.Second, "Slack's Retry-After is whole seconds")
	require.Equal(t, []string{"someone else", "someone else",
		"row 0 has 0 unused seats (owner )", "row 1 has 1 unused seats (owner )", "row 2 has 2 unused seats (owner )"}, tb.texts(alerts))
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, int64(1), tb.sim.Counters().Throttled.Load())
}

// A cancelled run stops waiting for the channel's allowance at once.
func TestCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	sc := syncConfig(alerts)
	d := tb.open(t, tb.botConfig(), connector.ModeInsert, sc)
	err, _ := write(d, account(record.OpAdd, sc, "1", "Acme", 1, "", nil))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = d.Write(ctx, connector.NewBatch("s", "r", "b", []record.Change{account(record.OpAdd, sc, "2", "Globex", 2, "", nil)}, nil))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 500*time.Millisecond)
	require.Len(t, tb.sim.Messages(alerts), 1)
}
