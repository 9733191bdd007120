package hubspot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFinalState checks the CRM after a sequence of writes, as a connector's
// tests would.
func TestFinalState(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{FirstID: 1})
	upsert := func(email string, kv ...string) map[string]any {
		return with(with(props(kv...), "id", email), "idProperty", "email")
	}
	require.Equal(t, http.StatusCreated, b.post("/crm/v3/objects/contacts/batch/create", inputs(
		props("email", "ann@example.com", "firstname", "Ann", "city", "Oslo"),
		props("email", "bob@example.com", "firstname", "Bob"),
		props("email", "cat@example.com", "firstname", "Cat"),
	)).status)
	b.clock.Advance(time.Hour)
	require.Equal(t, http.StatusOK, b.post("/crm/v3/objects/contacts/batch/upsert", inputs(
		upsert("Bob@example.com", "lifecyclestage", "customer"),
		upsert("dan@example.com", "firstname", "Dan"),
	)).status)
	require.Equal(t, http.StatusOK, b.post("/crm/v3/objects/contacts/batch/update", inputs(
		with(props("city", "", "phone", "+47 555"), "id", "1"),
	)).status)
	require.Equal(t, http.StatusNoContent, b.post("/crm/v3/objects/contacts/batch/archive", inputs(
		map[string]any{"id": "3"},
	)).status)

	t1 := t0.Add(time.Hour)
	require.Equal(t, []Record{
		{ID: "1", Properties: map[string]string{"email": "ann@example.com", "firstname": "Ann", "phone": "+47 555"}, CreatedAt: t0, UpdatedAt: t1},
		{ID: "2", Properties: map[string]string{"email": "bob@example.com", "firstname": "Bob", "lifecyclestage": "customer"}, CreatedAt: t0, UpdatedAt: t1},
		{ID: "4", Properties: map[string]string{"email": "dan@example.com", "firstname": "Dan"}, CreatedAt: t1, UpdatedAt: t1},
	}, b.sim.Records("contacts"))
	require.Equal(t, []Record{
		{ID: "3", Properties: map[string]string{"email": "cat@example.com", "firstname": "Cat"}, CreatedAt: t0, UpdatedAt: t0, Archived: true},
	}, b.sim.Archived("contacts"))

	got, ok := b.sim.Find("contacts", "email", "DAN@EXAMPLE.COM")
	require.True(t, ok)
	require.Equal(t, "4", got.ID)
	got, ok = b.sim.Find("contacts", "firstname", "Bob")
	require.True(t, ok)
	require.Equal(t, "2", got.ID)
	got, ok = b.sim.Find("contacts", "hs_object_id", "1")
	require.True(t, ok)
	require.Equal(t, "Ann", got.Properties["firstname"])
	_, ok = b.sim.Find("contacts", "firstname", "Cat")
	require.False(t, ok, "archived records are not found")
	_, ok = b.sim.Find("widgets", "x", "y")
	require.False(t, ok)
	require.Nil(t, b.sim.Records("widgets"))

	// Records are copies: changing one changes nothing stored.
	b.sim.Records("contacts")[0].Properties["firstname"] = "Mallory"
	require.Equal(t, "Ann", b.sim.Records("contacts")[0].Properties["firstname"])
}

func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PerInterval: 1_000_000, Now: time.Now})
	const writers, batches, size = 8, 5, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for n := range batches {
				var in []map[string]any
				for i := range size {
					email := fmt.Sprintf("w%d-%d-%d@example.com", w, n, i)
					in = append(in, with(with(props("firstname", "x"), "id", email), "idProperty", "email"))
				}
				body, _ := json.Marshal(inputs(in...))
				req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/crm/v3/objects/contacts/batch/upsert", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testToken)
				resp, err := b.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
		wg.Go(func() {
			for range batches {
				_ = b.sim.Records("contacts")
				_, _ = b.sim.Find("contacts", "email", "w0-0-0@example.com")
			}
		})
	}
	wg.Wait()
	recs := b.sim.Records("contacts")
	require.Len(t, recs, writers*batches*size)
	seen := map[string]bool{}
	for _, r := range recs {
		require.False(t, seen[r.ID], "ids are unique")
		seen[r.ID] = true
	}
	require.Equal(t, int64(writers*batches), b.sim.Counters().Requests.Load())
}

// BenchmarkUpsertBatch measures one batch upsert of 100 contacts, half new,
// through the handler (no network).
func BenchmarkUpsertBatch(b *testing.B) {
	sim := New(Options{PerInterval: 1 << 40, Daily: 1 << 40})
	bodies := make([][]byte, 2)
	for k := range bodies {
		var in []map[string]any
		for i := range 100 {
			email := fmt.Sprintf("user%d@example.com", i+k*50)
			in = append(in, with(with(props("firstname", "First", "lastname", "Last", "city", "Oslo",
				"lifecyclestage", "lead"), "id", email), "idProperty", "email"))
		}
		bodies[k], _ = json.Marshal(inputs(in...))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req := httptest.NewRequest(http.MethodPost, "/crm/v3/objects/contacts/batch/upsert", bytes.NewReader(bodies[i%2]))
		req.Header.Set("Authorization", "Bearer t")
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
