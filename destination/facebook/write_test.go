package facebook_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
	sim "github.com/sluicehq/sluice/simulator/facebook"
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
	rows := failedRows(t, err)
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
	refused := tupleOf(t, person(2))["EMAIL"]
	tb := setup(t, sim.Options{Reject: func(_ string, ids map[string]string) string {
		if ids["EMAIL"] == refused {
			return "the person opted out"
		}
		return ""
	}})
	d := tb.open(t, customerInfo(connector.ModeInsert), customerSync(), nil)
	err, _, counts := write(d, []record.Change{person(1).add(), person(2).add(), person(3).add()})
	require.Equal(t, map[int]string{1: "facebook: Meta counted the row among the invalid entries: the person opted out"}, failedRows(t, err))
	require.Equal(t, map[string]int64{"num_invalid_entries": 1}, counts)
	tb.requireMembers(t, person(1), person(3))
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
	require.Equal(t, map[int]string{1: "facebook: LOOKALIKE_VALUE (column ltv): -1 is negative: Meta takes customer values of 0 or more"}, failedRows(t, err2))
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
