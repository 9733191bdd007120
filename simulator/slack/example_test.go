package slack_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sluicehq/sluice/simulator/slack"
)

// A test starts the simulator, lets the code under test post to it, and reads
// which messages each channel received.
func Example() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	sim := slack.New(slack.Options{
		Tokens:   []string{"xoxb-test"},
		Channels: map[string]slack.Channel{"C0123ABCD": {Name: "alerts", Member: true}},
		Webhooks: map[string]string{"/services/T0SIM0001/B0123/secret": "C0123ABCD"},
		Now:      func() time.Time { return now },
	})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	post := func(path, body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		if !strings.HasPrefix(path, "/services/") {
			req.Header.Set("Authorization", "Bearer xoxb-test")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(b) > 60 {
			b = append(b[:60], "…"...)
		}
		fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), string(b))
	}
	post("/api/chat.postMessage", `{"channel":"#alerts","text":"Sync started"}`)
	post("/api/chat.postMessage", `{"channel":"#nowhere","text":"lost"}`)
	post("/services/T0SIM0001/B0123/secret", `{"text":"from a webhook"}`)
	post("/api/chat.postMessage", `{"channel":"C0123ABCD","text":"too soon"}`)

	for _, m := range sim.Messages("#alerts") {
		fmt.Println(m.TS, m.Via, m.Text)
	}
	// Output:
	// 200  {"ok":true,"channel":"C0123ABCD","ts":"1767268800.000000","m…
	// 200  {"ok":false,"error":"channel_not_found"}
	// 200  ok
	// 429 1 {"ok":false,"error":"ratelimited"}
	// 1767268800.000000 api Sync started
	// 1767268800.000001 webhook from a webhook
}
