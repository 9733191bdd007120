package hubspot_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/hubspot"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

func batchError(t *testing.T, err error) map[int]string {
	t.Helper()
	var be *connector.BatchError
	require.True(t, errors.As(err, &be), "want a *connector.BatchError, got %v", err)
	out := map[int]string{}
	for _, r := range be.Rows {
		out[r.Index] = r.Err.Error()
	}
	return out
}

func people(op record.Op, n int) []record.Change {
	var out []record.Change
	for i := range n {
		k := strconv.Itoa(i)
		out = append(out, contact(op, k, "user"+k+"@example.com", "User "+k, "lead"))
	}
	return out
}

// A 207 names the records HubSpot refused; each maps back to its row by its
// trace id, with HubSpot's message and category, and the others are written.
func TestMultiStatusFailsOnlyTheRefusedRows(t *testing.T) {
	t.Parallel()
	for _, mode := range []connector.Mode{connector.ModeInsert, connector.ModeUpsert, connector.ModeMirror} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			tb := setup(t, sim.Options{})
			tb.reject("user3@example.com", "Company policy: no user3")
			d := tb.contacts(t, mode, nil)
			changes := people(record.OpAdd, 10)
			changes[7] = contact(record.OpAdd, "7", "not-an-email", "Bad", "lead")
			changes[8] = contact(record.OpAdd, "8", "user8@example.com", "Bad stage", "prospect")
			err, traced := write(d, changes...)
			require.Equal(t, 1, traced)
			failed := batchError(t, err)
			require.Len(t, failed, 3)
			require.Contains(t, failed[3], "VALIDATION_ERROR: Company policy: no user3")
			require.Contains(t, failed[7], "INVALID_EMAIL")
			require.Contains(t, failed[8], "prospect was not one of the allowed options")
			action := "upsert"
			if mode == connector.ModeInsert {
				action = "create"
			}
			require.Contains(t, failed[8], "hubspot: "+action+" contacts: VALIDATION_ERROR")
			require.Len(t, tb.sim.Records("contacts"), 7)
			_, ok := tb.sim.Find("contacts", "email", "user9@example.com")
			require.True(t, ok)
		})
	}
}

// Updating records that do not exist fails those rows (OBJECT_NOT_FOUND); the
// others are updated, by id_property or by HubSpot's record id.
func TestUpdateOfMissingRecordsFailsThoseRows(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.seed(t, "contacts", "email", []map[string]string{{"email": "a@example.com"}, {"email": "b@example.com"}})
	d := tb.contacts(t, connector.ModeUpdate, nil)
	err, _ := write(d,
		contact(record.OpChange, "1", "a@example.com", "Ann", "lead"),
		contact(record.OpChange, "2", "nobody@example.com", "Nobody", "lead"),
		contact(record.OpChange, "3", "b@example.com", "Bea", "customer"))
	failed := batchError(t, err)
	require.Len(t, failed, 1)
	require.Contains(t, failed[1], "OBJECT_NOT_FOUND")
	b, _ := tb.sim.Find("contacts", "email", "b@example.com")
	require.Equal(t, "Bea", b.Properties["firstname"])

	fields := []string{"hs_object_id", "firstname"}
	byID := tb.open(t, tb.config(nil),
		connector.SyncInfo{Name: "by_id", Mode: connector.ModeUpdate, KeyColumn: "hid", KeyField: "hs_object_id", Fields: fields},
		hubspot.SyncConfig{Object: "contacts", IDProperty: "hs_object_id"})
	a, _ := tb.sim.Find("contacts", "email", "a@example.com")
	err, _ = write(byID,
		record.Change{Op: record.OpChange, Key: "x", Fields: record.MakeFields(fields, []record.Value{"99", "Ghost"})},
		record.Change{Op: record.OpChange, Key: "y", Fields: record.MakeFields(fields, []record.Value{a.ID, "Annie"})})
	failed = batchError(t, err)
	require.Equal(t, []int{0}, keysOf(failed))
	a, _ = tb.sim.Find("contacts", "email", "a@example.com")
	require.Equal(t, "Annie", a.Properties["firstname"])
}

func keysOf(m map[int]string) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// HubSpot refuses a whole batch holding the same id twice: the error is
// Divisible, and the engine's halving leaves only the bad rows failing (here
// none: once apart, both rows of the shared email are written, the later last).
func TestDuplicateIDsInABatchAreDivisible(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	tb.reject("user5@example.com", "refused")
	d := tb.contacts(t, connector.ModeUpsert, nil)
	changes := people(record.OpAdd, 10)
	changes[6] = contact(record.OpAdd, "6", "USER2@example.com", "Second", "customer")
	err, _ := write(d, changes...)
	require.True(t, connector.IsDivisible(err), "%v", err)
	require.False(t, connector.IsPermanent(err))
	require.Contains(t, err.Error(), "Duplicate IDs found in batch input")

	outcome := conformance.SendSplitting(t, d, changes)
	for i, e := range outcome {
		if i == 5 {
			require.Contains(t, e, "refused")
			continue
		}
		require.Empty(t, e, "row %d", i)
	}
	require.Len(t, tb.sim.Records("contacts"), 8)
	two, _ := tb.sim.Find("contacts", "email", "user2@example.com")
	require.Equal(t, "Second", two.Properties["firstname"])
}

// A batch refused whole for a value without naming its record (HubSpot's
// answer to an upsert without trace ids) is Divisible too; a mapped property
// that does not exist is not: halving cannot help, every record carries it.
func TestWholeBatchValidationErrors(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, tb.config(nil),
		connector.SyncInfo{Name: "s", Mode: connector.ModeUpsert, KeyColumn: "id", KeyField: "id", Fields: []string{"email", "plan_tier"}},
		hubspot.SyncConfig{Object: "contacts", IDProperty: "email"})
	err, _ := write(d, record.Change{Op: record.OpAdd, Key: "1", Fields: record.MakeFields([]string{"email", "plan_tier"}, []record.Value{"a@example.com", "pro"})})
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.False(t, connector.IsDivisible(err))
	require.Contains(t, err.Error(), `Property \"plan_tier\" does not exist`)
	require.Contains(t, err.Error(), "create the property in HubSpot")
}

// 401 and 403 are permanent, with what to do; the token never appears.
func TestAuthenticationErrors(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{Tokens: []string{"the-right-token"}})
	d := tb.contacts(t, connector.ModeUpsert, nil)
	err, traced := write(d, people(record.OpAdd, 2)...)
	require.Equal(t, 1, traced)
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.Contains(t, err.Error(), "HTTP 401")
	require.Contains(t, err.Error(), "check access_token")
	require.NotContains(t, err.Error(), testToken)
	err = d.Check(context.Background())
	require.True(t, connector.IsPermanent(err))
	require.Contains(t, err.Error(), "check access_token")

	// The simulator knows no scopes: a proxy in front of it answers 403 as HubSpot does.
	forbidden := simtest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","correlationId":"x","category":"MISSING_SCOPES","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["crm.objects.contacts.write"]}}]}`))
	}))
	t.Cleanup(forbidden.Close)
	d = tb.contacts(t, connector.ModeUpsert, func(c *hubspot.Config) { c.BaseURL = forbidden.URL })
	err, _ = write(d, people(record.OpAdd, 1)...)
	require.True(t, connector.IsPermanent(err))
	require.Contains(t, err.Error(), "MISSING_SCOPES")
	require.Contains(t, err.Error(), "crm.objects.contacts.write")
}

// A 429 is Throttled with HubSpot's Retry-After, and pauses the account's budget
// so that the retry is not refused again. Both policy names HubSpot uses for the
// rolling window mean that throttle; only DAILY is the day's.
func TestThrottledAnswerHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{sim.PolicySecondly, sim.PolicyTenSecondlyRolling} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, sim.Options{PolicyName: policy})
			d := tb.contacts(t, connector.ModeUpsert, nil)
			tb.sim.SetFaults(simkit.Faults{Force429: 1})
			var throttled bool
			b := connector.NewBatch("s", "r", "b", people(record.OpAdd, 3), func(ex connector.Exchange) { throttled = throttled || ex.Throttled })
			err := d.Write(context.Background(), b)
			require.True(t, connector.RateLimited(err), "%v", err)
			require.False(t, connector.IsPermanent(err))
			require.NotContains(t, err.Error(), "daily")
			require.True(t, throttled, "the exchange is traced as throttled")
			delay, ok := connector.RetryDelay(err)
			require.True(t, ok)
			require.Equal(t, time.Second, delay)

			start := time.Now()
			err, _ = write(d, people(record.OpAdd, 3)...)
			require.NoError(t, err)
			require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "the budget waits out Retry-After")
			require.Len(t, tb.sim.Records("contacts"), 3)
		})
	}
}

// When HubSpot says the day's allowance is spent (policyName DAILY), the rows
// fail permanently for the next run and nothing more is sent that day.
func TestDailyLimitStopsSending(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{Daily: 10})
	d := tb.contacts(t, connector.ModeUpsert, nil)
	require.NoError(t, d.Check(context.Background()))
	err, _ := write(d, people(record.OpAdd, 2)...)
	require.NoError(t, err)
	// Another integration on the account spends the rest of the day's requests.
	for range 7 {
		tb.seed(t, "contacts", "email", []map[string]string{{"email": "other@example.com"}})
	}
	err, _ = write(d, people(record.OpAdd, 2)...)
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.True(t, connector.RateLimited(err))
	require.Contains(t, err.Error(), "daily API limit is used up")

	sent := tb.sim.Counters().Requests.Load()
	err, traced := write(d, people(record.OpAdd, 2)...)
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.Contains(t, err.Error(), "daily")
	require.Zero(t, traced)
	require.Equal(t, sent, tb.sim.Counters().Requests.Load(), "nothing is sent once the day's allowance is spent")
}

// 5xx answers are transient: the engine retries them and the rows get written.
func TestServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.contacts(t, connector.ModeMirror, nil)
	tb.sim.SetFaults(simkit.Faults{Fail5xx: 2})
	changes := people(record.OpAdd, 5)
	for attempt := 1; ; attempt++ {
		err, _ := write(d, changes...)
		if err == nil {
			require.Equal(t, 3, attempt)
			break
		}
		require.False(t, connector.IsPermanent(err), "%v", err)
		require.False(t, connector.IsDivisible(err))
		require.Regexp(t, `HTTP 50[023]`, err.Error())
	}
	require.Equal(t, int64(2), tb.sim.Counters().ServerErrors.Load())
	require.Len(t, tb.sim.Records("contacts"), 5)
}

// An object HubSpot does not have is a configuration error, not a row's.
func TestUnknownObjectIsPermanent(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, tb.config(nil), contactInfo(connector.ModeUpsert), hubspot.SyncConfig{Object: "contatcs", IDProperty: "email"})
	err, _ := write(d, people(record.OpAdd, 3)...)
	require.True(t, connector.IsPermanent(err), "%v", err)
	require.False(t, connector.IsDivisible(err))
	require.Contains(t, err.Error(), `HubSpot has no object "contatcs"`)
	err = d.Check(context.Background())
	require.Contains(t, err.Error(), `HubSpot has no object "contatcs"`)
	require.Contains(t, err.Error(), "users_to_hubspot")
}
