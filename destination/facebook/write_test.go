package facebook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/destination/facebook"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/simkit/simtest"
)

func TestAddedRowsJoinTheAudience(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), nil)
	err, exchanges, counts := write(d, []record.Change{person(1).add(), person(2).add(), person(3).add()})
	require.NoError(t, err)
	require.Len(t, exchanges, 1, "one request for the batch")
	require.Equal(t, "POST "+tb.srv.URL+"/v21.0/"+audienceID+"/users", exchanges[0].Request.Line)
	require.Empty(t, counts, "no invalid entry")
	tb.requireMembers(t, person(1), person(2), person(3))

	// Sending them again changes nothing: membership is a set.
	err, _, _ = write(d, []record.Change{person(1).add(), person(2).add()})
	require.NoError(t, err)
	tb.requireMembers(t, person(1), person(2), person(3))
}

// An upserted row whose identifiers changed leaves the audience under its old
// ones and joins it under the new ones.
func TestChangedIdentifiersReplaceTheOldOnes(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeUpsert), customerSync(), nil)
	require.NoError(t, first(write(d, []record.Change{person(1).add(), person(2).add()})))

	moved := person(1)
	moved.email, moved.phone = "ada.new@example.com", "+44 20 7946 0001"
	err, exchanges, _ := write(d, []record.Change{person(1).changeTo(moved)})
	require.NoError(t, err)
	require.Len(t, exchanges, 2)
	require.True(t, strings.HasPrefix(exchanges[0].Request.Line, "DELETE "), "the old identifiers leave first")
	require.True(t, strings.HasPrefix(exchanges[1].Request.Line, "POST "))
	tb.requireMembers(t, moved, person(2))
}

// A removal names the person by their strong identifiers only: Meta removes
// every member a removal's identifiers match, and a country is shared by many.
func TestRemovalNamesThePersonByStrongIdentifiers(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeMirror), customerSync(), nil)
	require.NoError(t, first(write(d, []record.Change{person(1).add(), person(2).add(), person(3).add()})))

	err, exchanges, _ := write(d, []record.Change{person(2).remove(), {Op: record.OpRemove, Key: "never", Fields: person(99).fields()}})
	require.NoError(t, err)
	require.Len(t, exchanges, 1)
	require.True(t, strings.HasPrefix(exchanges[0].Request.Line, "DELETE "))
	form, err := url.ParseQuery(string(exchanges[0].Request.Body))
	require.NoError(t, err)
	require.Contains(t, form.Get("payload"), `"schema":["EMAIL","PHONE","LN","FN","COUNTRY"]`)
	require.Contains(t, form.Get("payload"), `"",""]`, "names and country left out")
	tb.requireMembers(t, person(1), person(3))
}

// In a planned run that is not a full resync, a changed row whose identifiers
// did not change (another column did) sends nothing: Meta holds nothing else.
func TestUnchangedIdentifiersAreNotSentAgain(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeUpsert), customerSync(), nil)
	require.NoError(t, d.PlanRun(context.Background(), connector.RunPlan{Added: 1}))
	require.NoError(t, first(write(d, []record.Change{person(1).add()})))
	before := tb.sim.Counters().Requests.Load()

	same := person(1)
	same.email = "  ADA1@example.com " // normalises to the same identifier
	err, exchanges, _ := write(d, []record.Change{person(1).changeTo(same)})
	require.NoError(t, err)
	require.Empty(t, exchanges)
	require.Equal(t, before, tb.sim.Counters().Requests.Load())

	// A full resync sends every row again.
	require.NoError(t, d.PlanRun(context.Background(), connector.RunPlan{Changed: 1, FullResync: true}))
	err, exchanges, _ = write(d, []record.Change{person(1).changeTo(same)})
	require.NoError(t, err)
	require.Len(t, exchanges, 1)
	tb.requireMembers(t, person(1))
}

// Rows whose identifiers cannot be used fail with the reason and are not sent;
// the others are.
func TestUnusableIdentifiersFailTheirRows(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	d := tb.open(t, customerInfo(connector.ModeUpsert), customerSync(), nil)
	badEmail := person(2)
	badEmail.email = "not-an-email"
	empty := customer{id: "c3"}
	badCountry := person(4)
	badCountry.country = "Atlantis"
	listPhone := person(5)
	listPhone.phone = []record.Value{"1"}
	err, exchanges, _ := write(d, []record.Change{person(1).add(), badEmail.add(), empty.add(), badCountry.add(), listPhone.add(), person(6).add()})
	rows := conformance.FailedRows(t, err)
	require.Equal(t, map[int]string{
		1: `facebook: EMAIL (column email): "not-an-email" is not an email address`,
		2: "facebook: no identifier to match on: EMAIL (email), PHONE (phone), LN (last_name), FN (first_name), COUNTRY (country) are all empty; fill at least one in the model",
		3: `facebook: COUNTRY (column country): "Atlantis" is not an ISO 3166 alpha-2 country code (e.g. US, DE)`,
		4: "facebook: PHONE (column phone): is a list value, which cannot be an identifier: select it as text in the model",
	}, rows)
	require.Len(t, exchanges, 1)
	require.Equal(t, 2, strings.Count(string(exchanges[0].Request.Body), "%5B%22")-1, "two rows sent")
	tb.requireMembers(t, person(1), person(6))
}

// Rows Meta counts as invalid are reported in num_invalid_entries; those its
// samples name fail with Meta's reason, the others stand.
func TestInvalidEntriesAreCountedAndFailed(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{Reject: optedOut(tupleOf(t, person(2))["EMAIL"])})
	d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), nil)
	err, _, counts := write(d, []record.Change{person(1).add(), person(2).add(), person(3).add()})
	require.Equal(t, map[int]string{1: "facebook: Meta counted the row among the invalid entries: the person opted out"}, conformance.FailedRows(t, err))
	require.Equal(t, map[string]int64{"num_invalid_entries": 1}, counts)
	tb.requireMembers(t, person(1), person(3))
}

// Meta names only a sample of its invalid entries (10 here): the rows it
// counted but did not name are pinned down by sending them again in halves, so
// that every refused row fails with Meta's reason and none is reported written.
func TestUnnamedInvalidEntriesArePinnedDown(t *testing.T) {
	t.Parallel()
	rejected := map[string]bool{}
	var changes []record.Change
	for n := range 30 {
		changes = append(changes, person(n).add())
		if n%2 == 0 {
			rejected[tupleOf(t, person(n))["EMAIL"]] = true
		}
	}
	tb := setup(t, sim.Options{Reject: func(_ string, ids map[string]string) string {
		if rejected[ids["EMAIL"]] {
			return "EMAIL: bounced"
		}
		return ""
	}})
	d := tb.open(t, customerInfo(connector.ModeUpsert), customerSync(), nil)
	err, exchanges, counts := write(d, changes)
	rows := conformance.FailedRows(t, err)
	require.Len(t, rows, 15, "Meta refused 15 rows")
	for i, msg := range rows {
		require.Zero(t, i%2, "row %d was not refused", i)
		require.Equal(t, "facebook: Meta counted the row among the invalid entries: EMAIL: bounced", msg)
	}
	require.Equal(t, map[string]int64{"num_invalid_entries": 15}, counts)
	require.LessOrEqual(t, len(exchanges), 3, "the 20 unnamed rows, in halves")
	require.Len(t, tb.members(), 15)
}

// When pinning the invalid entries down would take too many requests, the rows
// still unidentified fail with Meta's count: a row Meta refused is never
// reported written, and num_invalid_entries is Meta's count.
func TestUnidentifiedInvalidEntriesFailWithTheCount(t *testing.T) {
	t.Parallel()
	var changes []record.Change
	var valid []customer
	rejected := map[string]bool{}
	for n := range 2000 {
		changes = append(changes, person(n).add())
		if n%2 == 1 {
			valid = append(valid, person(n))
		} else {
			rejected[tupleOf(t, person(n))["EMAIL"]] = true
		}
	}
	tb := setup(t, sim.Options{MaxInvalidSamples: 1, Reject: func(_ string, ids map[string]string) string {
		if rejected[ids["EMAIL"]] {
			return "EMAIL: bounced"
		}
		return ""
	}})
	d := tb.open(t, customerInfo(connector.ModeUpsert), customerSync(), nil)
	err, exchanges, counts := write(d, changes)
	rows := conformance.FailedRows(t, err)
	for n := 0; n < 2000; n += 2 {
		require.Contains(t, rows, n, "row %d was refused", n)
	}
	unidentified := 0
	for _, msg := range rows {
		if strings.Contains(msg, "as invalid entries without naming them, and Sluice could not tell which") {
			unidentified++
		}
	}
	require.Positive(t, unidentified)
	require.Equal(t, map[string]int64{"num_invalid_entries": 1000}, counts)
	require.LessOrEqual(t, len(exchanges), 33)
	tb.requireMembers(t, valid...)
}

// A request to pin down invalid entries that fails, even one worth retrying
// (here throttled for 10 minutes, longer than the engine waits), fails only
// the rows it was about, as unidentified: Meta took the batch, and failing it
// whole would make the engine send it all again, or fail every row.
func TestFailedPinRequestLeavesItsRowsUnidentified(t *testing.T) {
	t.Parallel()
	rejected := map[string]bool{}
	var changes []record.Change
	for n := range 40 {
		changes = append(changes, person(n).add())
		if n < 12 {
			rejected[tupleOf(t, person(n))["EMAIL"]] = true
		}
	}
	tb := setup(t, sim.Options{MaxInvalidSamples: 10, Reject: func(_ string, ids map[string]string) string {
		if rejected[ids["EMAIL"]] {
			return "EMAIL: bounced"
		}
		return ""
	}})
	var posts atomic.Int32
	tb.interceptWith(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if r.Method != http.MethodPost || posts.Add(1) != 2 {
			return false
		}
		throttle(w, 10)
		return true
	})
	d := tb.open(t, customerInfo(connector.ModeUpsert), customerSync(), nil)
	d.SetBudget(saas.NewBudget(connector.RateLimits{}, 8)) // keep the throttling off the shared budget
	err, _, counts := write(d, changes)
	rows := conformance.FailedRows(t, err)
	require.Len(t, rows, 40, "Meta's 10 samples, and the 30 rows it did not name")
	unidentified := 0
	for _, msg := range rows {
		if strings.Contains(msg, "Meta counted 2 of 30 rows sent with this one as invalid entries without naming them, and Sluice could not tell which (the request to pin them down failed: ") {
			require.Contains(t, msg, "code 80003")
			unidentified++
		}
	}
	require.Equal(t, 30, unidentified)
	require.Equal(t, map[string]int64{"num_invalid_entries": 12}, counts)
	require.Equal(t, int32(2), posts.Load(), "no request after the throttled one")
	require.Len(t, tb.members(), 28, "Meta took the 28 valid rows")
}

// num_invalid_entries counts each refused row once, however many times the
// engine sends its batch: here the batch's second request fails once, and the
// retry is told of the first request's invalid entry again.
func TestInvalidEntriesAreCountedOncePerRow(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{Reject: optedOut(tupleOf(t, person(1))["EMAIL"])})
	var posts atomic.Int32
	tb.interceptWith(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if r.Method != http.MethodPost || posts.Add(1) != 2 {
			return false
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"message":"Service temporarily unavailable","code":2,"is_transient":true}}`)
		return true
	})
	d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), func(c *facebook.Config) { c.BatchSize = 2 })
	batch := []record.Change{person(1).add(), person(2).add(), person(3).add(), person(4).add()}
	err, _, counts := write(d, batch)
	require.Error(t, err)
	require.False(t, connector.IsPermanent(err))
	err, _, retried := write(d, batch)
	require.Equal(t, map[int]string{0: "facebook: Meta counted the row among the invalid entries: the person opted out"}, conformance.FailedRows(t, err))
	for name, n := range retried {
		counts[name] += n
	}
	require.Equal(t, map[string]int64{"num_invalid_entries": 1}, counts)
	tb.requireMembers(t, person(2), person(3), person(4))
}

// appsecret_proof reaches Meta with every request, but shows neither in the
// request lines the run log keeps nor in an error quoting a request's URL: it
// is derived from the secrets, so the engine's redaction does not know it.
func TestAppSecretProofIsNeverShown(t *testing.T) {
	t.Parallel()
	const secret = "app-secret-0123"
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(token))
	proof := hex.EncodeToString(mac.Sum(nil))
	tb := setup(t, sim.Options{AppSecret: secret, RequireAppSecretProof: true})
	withSecret := func(c *facebook.Config) { c.AppSecret = secret }
	d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), withSecret)
	require.NoError(t, d.Check(context.Background()))
	err, exchanges, _ := write(d, []record.Change{person(1).add()})
	require.NoError(t, err, "Meta requires the proof")
	require.Len(t, exchanges, 1)
	require.Equal(t, "POST "+tb.srv.URL+"/v21.0/"+audienceID+"/users", exchanges[0].Request.Line)
	for _, r := range tb.sim.Log().Requests() {
		require.Contains(t, r.RawQuery, "appsecret_proof="+proof)
	}
	tb.requireMembers(t, person(1))

	down := simtest.NewServer(http.NotFoundHandler())
	down.Close()
	d = tb.open(t, customerInfo(connector.ModeInsert), customerSync(), func(c *facebook.Config) {
		withSecret(c)
		c.BaseURL = down.URL + "/v21.0"
	})
	err, exchanges, _ = write(d, []record.Change{person(1).add()})
	require.ErrorContains(t, err, down.URL+"/v21.0/"+audienceID+"/users")
	require.NotContains(t, err.Error(), proof)
	require.NotContains(t, exchanges[0].Err, proof)
}

// One birth-date column serves DOBY, DOBM and DOBD. Held as a DATE it gives
// its day; held as a TIMESTAMP (an instant, in UTC as the engine carries it) it
// gives its UTC day: 23:00 UTC on 1 May is 1 May, whatever zone it was stored in.
func TestBirthDateColumnServesEveryBirthKey(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	fields := []string{"id", "email", "birth"}
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeUpsert, KeyColumn: "id", KeyField: "id", Fields: fields,
		ColumnFields: map[string]int{"identifiers.EMAIL": 1, "identifiers.DOBD": 2, "identifiers.DOBM": 2, "identifiers.DOBY": 2}}
	sc := &facebook.SyncConfig{AudienceID: audienceID, Identifiers: map[string]string{"EMAIL": "email", "DOBD": "birth", "DOBM": "birth", "DOBY": "birth"}}
	d := tb.open(t, info, sc, nil)
	require.NoError(t, first(write(d, []record.Change{
		{Op: record.OpAdd, Key: "1", Fields: record.MakeFields(fields, []record.Value{"1", "a@b.co", record.Date{Year: 1990, Month: 5, Day: 1}})},
		{Op: record.OpAdd, Key: "2", Fields: record.MakeFields(fields, []record.Value{"2", "c@d.co", time.Date(1990, 5, 1, 23, 0, 0, 0, time.UTC)})},
	})))
	born := tuple{"DOBY": sim.HashValue("DOBY", "1990"), "DOBM": sim.HashValue("DOBM", "05"), "DOBD": sim.HashValue("DOBD", "01")}
	members := tb.members()
	require.Len(t, members, 2)
	for _, m := range members {
		require.Contains(t, []string{sim.HashValue("EMAIL", "a@b.co"), sim.HashValue("EMAIL", "c@d.co")}, m["EMAIL"])
		delete(m, "EMAIL")
		require.Equal(t, born, m)
	}
}

// A US ZIP held as a number lost its leading zero: it is put back for a row in
// the US, and left alone elsewhere (8001 is a whole postal code in Zürich).
func TestNumericZIPOfTheUSIsPadded(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	fields := []string{"id", "email", "zip", "country"}
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeUpsert, KeyColumn: "id", KeyField: "id", Fields: fields,
		ColumnFields: map[string]int{"identifiers.EMAIL": 1, "identifiers.ZIP": 2, "identifiers.COUNTRY": 3}}
	sc := &facebook.SyncConfig{AudienceID: audienceID, Identifiers: map[string]string{"EMAIL": "email", "ZIP": "zip", "COUNTRY": "country"}}
	d := tb.open(t, info, sc, nil)
	row := func(id, email string, zip record.Value, country string) record.Change {
		return record.Change{Op: record.OpAdd, Key: id, Fields: record.MakeFields(fields, []record.Value{id, email, zip, country})}
	}
	require.NoError(t, first(write(d, []record.Change{
		row("1", "a@b.co", int64(2134), "US"), row("2", "c@d.co", 501.0, "United States"), row("3", "e@f.co", int64(8001), "CH"),
	})))
	zips := map[string]string{}
	for _, m := range tb.members() {
		zips[m["EMAIL"]] = m["ZIP"]
	}
	require.Equal(t, map[string]string{
		sim.HashValue("EMAIL", "a@b.co"): sim.HashValue("ZIP", "02134"),
		sim.HashValue("EMAIL", "c@d.co"): sim.HashValue("ZIP", "00501"),
		sim.HashValue("EMAIL", "e@f.co"): sim.HashValue("ZIP", "8001"),
	}, zips)
}

// The customer value of a value-based audience travels as a number.
func TestCustomerValueIsSentAsANumber(t *testing.T) {
	t.Parallel()
	tb := setup(t, sim.Options{})
	_, err := tb.sim.Audience(audienceID)
	require.True(t, err)
	info := connector.SyncInfo{Name: "value", Mode: connector.ModeUpsert, KeyColumn: "id", KeyField: "id",
		Fields: []string{"id", "email", "ltv"}}
	sc := customerSync()
	sc.Identifiers = map[string]string{"EMAIL": "email", "LOOKALIKE_VALUE": "ltv"}
	d := tb.open(t, info, sc, nil)
	err2, exchanges, _ := write(d, []record.Change{
		{Op: record.OpAdd, Key: "1", Fields: record.MakeFields(info.Fields, []record.Value{"1", "a@example.com", 5230.5})},
		{Op: record.OpAdd, Key: "2", Fields: record.MakeFields(info.Fields, []record.Value{"2", "b@example.com", int64(-1)})},
	})
	require.Equal(t, map[int]string{1: "facebook: LOOKALIKE_VALUE (column ltv): -1 is negative: Meta takes customer values of 0 or more"}, conformance.FailedRows(t, err2))
	form, err3 := url.ParseQuery(string(exchanges[0].Request.Body))
	require.NoError(t, err3)
	require.Contains(t, form.Get("payload"), `"schema":["EMAIL","LOOKALIKE_VALUE"]`)
	require.Contains(t, form.Get("payload"), `",5230.5]`)
	members := tb.sim.Members(audienceID)
	require.Len(t, members, 1)
	require.NotNil(t, members[0].LookalikeValue)
	require.Equal(t, 5230.5, *members[0].LookalikeValue)
}

// A request Meta refuses whole for a reason retrying cannot fix fails the
// batch with what to do.
func TestRefusedRequestsSayWhatToFix(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		opts  sim.Options
		setup func(*testBundle)
		want  string
	}{
		"read-only token": {
			opts: sim.Options{ReadOnlyTokens: []string{token}},
			want: "lacks ads_management",
		},
		"bad token": {
			opts: sim.Options{Tokens: []string{"another"}},
			want: "check access_token: Meta does not accept it",
		},
		"unknown audience": {
			opts: sim.Options{Audiences: map[string]string{"999": account}},
			want: "audience " + audienceID + " does not exist, was deleted, or the token cannot reach it",
		},
		"flagged audience": {
			setup: func(tb *testBundle) { require.NoError(t, tb.sim.SetFlagged(audienceID, true)) },
			want:  "the audience is flagged (operation_status 471)",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, tc.opts)
			if tc.setup != nil {
				tc.setup(tb)
			}
			d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), nil)
			err, _, _ := write(d, []record.Change{person(1).add(), person(2).add()})
			require.Error(t, err)
			require.True(t, connector.IsPermanent(err), "%v", err)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), token)
		})
	}
}

// first is Write's error from write's results.
func first(err error, _ []connector.Exchange, _ map[string]int64) error { return err }
