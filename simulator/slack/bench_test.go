package slack

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

func benchRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/chat.postMessage", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set("Authorization", "Bearer xoxb-bench")
	return r
}

// BenchmarkPostMessage is the chat.postMessage handler with a block, limits off:
// the simulator's own cost per message.
func BenchmarkPostMessage(b *testing.B) {
	sim := New(Options{PerChannelPerSecond: -1, WorkspacePerMinute: -1, LogLimit: 1000})
	body := []byte(`{"channel":"C0123ABCD","text":"Sync finished: 1,204 rows",` +
		`"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*Done* in 3.2 s"}}]}`)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, benchRequest(body))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(len(sim.AllMessages()))/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkPacedChannels paces 10 channels at one message a second each through
// a simulated minute at the default limits (burst 2; 600 a minute per
// workspace, which 10 channels at 1/s just fill), and reports the rate each
// channel got and the 429s.
func BenchmarkPacedChannels(b *testing.B) {
	const channels, seconds = 10, 60
	chans := map[string]Channel{}
	for i := range channels {
		chans[fmt.Sprintf("C%09d", i)] = Channel{Name: fmt.Sprintf("ch-%d", i), Member: true}
	}
	b.ReportAllocs()
	var perChannel float64
	var throttled int64
	for b.Loop() {
		clock := simtest.NewClock(t0)
		sim := New(Options{Channels: chans, Now: clock.Now, LogLimit: 1000})
		for s := range seconds {
			for id := range chans {
				body := fmt.Appendf(nil, `{"channel":%q,"text":"row %d"}`, id, s)
				w := httptest.NewRecorder()
				sim.ServeHTTP(w, benchRequest(body))
			}
			clock.Advance(time.Second)
		}
		if got := len(sim.AllMessages()); got != channels*seconds {
			b.Fatalf("%d messages kept, want %d", got, channels*seconds)
		}
		perChannel = float64(len(sim.Messages("ch-0"))) / seconds
		throttled = sim.Counters().Throttled.Load()
	}
	b.ReportMetric(perChannel, "msgs/s/channel")
	b.ReportMetric(float64(throttled), "429s")
}
