package facebook

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// replaceErr asserts a refused usersreplace batch: code 2650 with this title.
func replaceErr(t *testing.T, a answer, subcode int, title string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
	e := a.errorOf()
	require.Equal(t, 2650.0, e["code"], "%s", a.raw)
	require.Equal(t, "(#2650) Failed to update the custom audience", e["message"])
	require.Equal(t, title, e["error_user_title"], "%s", a.raw)
	require.Equal(t, subcode, a.subcode())
	require.NotEmpty(t, e["error_user_msg"])
}

func TestReplace(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	usersOK(t, b.add(testAud, emails("old1@x.com", "old2@x.com", "keep@x.com")), 3, 0)

	// The audience keeps its members until the last batch arrives.
	a := usersOK(t, b.replaceBatch(testAud, 42, 1, false, emails("keep@x.com", "new1@x.com")), 2, 0)
	require.Equal(t, map[string]any{"audience_id": testAud, "session_id": "42", "num_received": 2.0,
		"num_invalid_entries": 0.0, "invalid_entry_samples": map[string]any{}}, a.body)
	b.clock.Advance(time.Minute)
	usersOK(t, b.replaceBatch(testAud, 42, 2, false, map[string]any{"schema": "EMAIL_SHA256", "data": []any{h("EMAIL", "new2@x.com"), "junk"}}), 2, 1)
	require.Equal(t, hashes("EMAIL", "old1@x.com", "old2@x.com", "keep@x.com"), emailSet(b.sim, testAud))
	ss := b.sim.Sessions(testAud)
	require.Equal(t, SessionOpen, ss[len(ss)-1].State)

	usersOK(t, b.replaceBatch(testAud, 42, 3, true, emails("new3@x.com")), 1, 0)
	require.ElementsMatch(t, hashes("EMAIL", "keep@x.com", "new1@x.com", "new2@x.com", "new3@x.com"), emailSet(b.sim, testAud))

	ss = b.sim.Sessions(testAud)
	last := ss[len(ss)-1]
	require.Equal(t, "replace", last.Op)
	require.Equal(t, "42", last.ID)
	require.Equal(t, SessionComplete, last.State)
	require.Equal(t, 5, last.Received)
	require.Equal(t, 1, last.Invalid)
	require.Len(t, last.Batches, 3)
	require.True(t, last.Batches[2].Last)

	// A batch after the last one is refused.
	replaceErr(t, b.replaceBatch(testAud, 42, 4, false, emails("late@x.com")), 1870159, "Replace Session Finished")
	require.False(t, b.sim.Has(testAud, "EMAIL", h("EMAIL", "late@x.com")))
}

func TestReplaceBatchOrder(t *testing.T) {
	t.Parallel()
	type batch struct {
		seq   int
		last  bool
		email string
		title string // "" when accepted
		sub   int
	}
	tests := []struct {
		name    string
		opts    Options
		batches []batch
		want    []string // the members' emails after, nil when unchanged
	}{
		{name: "one batch", batches: []batch{{seq: 1, last: true, email: "a"}}, want: []string{"a"}},
		{name: "out of order before the last", batches: []batch{
			{seq: 1, email: "a"}, {seq: 3, email: "c"}, {seq: 2, last: true, email: "b"}}, want: []string{"a", "c", "b"}},
		// The guide: batches after the first "can be duplicates or any number except 1".
		{name: "the last batch completes despite a gap", batches: []batch{
			{seq: 1, email: "a"}, {seq: 5, last: true, email: "e"}}, want: []string{"a", "e"}},
		{name: "first batch not 1", batches: []batch{
			{seq: 2, last: true, email: "b", title: "Invalid Upload Batch for Replace", sub: 1870147}}},
		{name: "duplicate batch_seq is accepted", batches: []batch{
			{seq: 1, email: "a"}, {seq: 1, email: "a"}, {seq: 2, last: true, email: "b"}}, want: []string{"a", "b"}},
		{name: "duplicate batch_seq refused", opts: Options{RejectDuplicateBatch: true}, batches: []batch{
			{seq: 1, email: "a"}, {seq: 1, email: "a", title: "Invalid Upload Batch for Replace", sub: 1870147}, {seq: 2, last: true, email: "b"}},
			want: []string{"a", "b"}},
		{name: "strict order", opts: Options{StrictBatchOrder: true}, batches: []batch{
			{seq: 1, email: "a"}, {seq: 3, email: "c", title: "Invalid Upload Batch for Replace", sub: 1870147}, {seq: 2, last: true, email: "b"}},
			want: []string{"a", "b"}},
		{name: "batch after the last one", batches: []batch{
			{seq: 1, email: "a"}, {seq: 2, last: true, email: "b"}, {seq: 3, email: "c", title: "Replace Session Finished", sub: 1870159}},
			want: []string{"a", "b"}},
		{name: "two last batches", batches: []batch{
			{seq: 1, email: "a"}, {seq: 3, last: true, email: "c"}, {seq: 4, last: true, email: "d", title: "Replace Session Finished", sub: 1870159}},
			want: []string{"a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.opts)
			require.NoError(t, b.sim.SeedMembers(testAud, Member{Identifiers: map[string]string{"EMAIL": h("EMAIL", "before")}}))
			for _, bt := range tt.batches {
				a := b.replaceBatch(testAud, 7, bt.seq, bt.last, emails(bt.email))
				if bt.title != "" {
					replaceErr(t, a, bt.sub, bt.title)
				} else {
					usersOK(t, a, 1, 0)
				}
			}
			want := []string{"before"}
			if tt.want != nil {
				want = tt.want
			}
			require.Equal(t, hashes("EMAIL", want...), emailSet(b.sim, testAud))
		})
	}
}

func TestReplaceTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{ReplaceTimeout: 30 * time.Minute})
	require.NoError(t, b.sim.SeedMembers(testAud, Member{Identifiers: map[string]string{"EMAIL": h("EMAIL", "before")}}))
	usersOK(t, b.replaceBatch(testAud, 1, 1, false, emails("a")), 1, 0)
	b.clock.Advance(29 * time.Minute)
	usersOK(t, b.replaceBatch(testAud, 1, 2, false, emails("b")), 1, 0)
	b.clock.Advance(2 * time.Minute)
	require.Equal(t, SessionTimedOut, b.sim.Sessions(testAud)[0].State)
	replaceErr(t, b.replaceBatch(testAud, 1, 3, true, emails("c")), 1870158, "Replace Session Timed Out")
	require.Equal(t, hashes("EMAIL", "before"), emailSet(b.sim, testAud), "a timed-out replace changes nothing")

	// A new session works.
	usersOK(t, b.replaceBatch(testAud, 2, 1, true, emails("z")), 1, 0)
	require.Equal(t, hashes("EMAIL", "z"), emailSet(b.sim, testAud))
}

func TestConcurrentReplace(t *testing.T) {
	t.Parallel()
	t.Run("a new session supersedes the open one", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		usersOK(t, b.replaceBatch(testAud, 1, 1, false, emails("a")), 1, 0)
		usersOK(t, b.replaceBatch(testAud, 2, 1, false, emails("b")), 1, 0)
		replaceErr(t, b.replaceBatch(testAud, 1, 2, true, emails("a2")), 0, "Replace Session Superseded")
		usersOK(t, b.replaceBatch(testAud, 2, 2, true, emails("b2")), 1, 0)
		require.Equal(t, hashes("EMAIL", "b", "b2"), emailSet(b.sim, testAud))
		ss := b.sim.Sessions(testAud)
		require.Equal(t, []SessionState{SessionSuperseded, SessionComplete}, []SessionState{ss[0].State, ss[1].State})
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{RejectConcurrentReplace: true})
		usersOK(t, b.replaceBatch(testAud, 1, 1, false, emails("a")), 1, 0)
		replaceErr(t, b.replaceBatch(testAud, 2, 1, true, emails("b")), 1870145, "Replace Already In Progress")
		usersOK(t, b.replaceBatch(testAud, 1, 2, true, emails("a2")), 1, 0)
		require.Equal(t, hashes("EMAIL", "a", "a2"), emailSet(b.sim, testAud))
	})
}

func TestUsersDuringReplace(t *testing.T) {
	t.Parallel()
	t.Run("applied, then lost at the swap", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		usersOK(t, b.replaceBatch(testAud, 1, 1, false, emails("a")), 1, 0)
		usersOK(t, b.add(testAud, emails("during")), 1, 0)
		require.True(t, b.sim.Has(testAud, "EMAIL", h("EMAIL", "during")))
		usersOK(t, b.replaceBatch(testAud, 1, 2, true, emails("b")), 1, 0)
		require.Equal(t, hashes("EMAIL", "a", "b"), emailSet(b.sim, testAud))
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{RejectUsersDuringReplace: true})
		usersOK(t, b.replaceBatch(testAud, 1, 1, false, emails("a")), 1, 0)
		a := b.add(testAud, emails("during"))
		require.Equal(t, 2650, a.code())
		require.Equal(t, 1870145, a.subcode())
		usersOK(t, b.replaceBatch(testAud, 1, 2, true, emails("b")), 1, 0)
		usersOK(t, b.add(testAud, emails("after")), 1, 0)
		require.Equal(t, hashes("EMAIL", "a", "b", "after"), emailSet(b.sim, testAud))
	})
}

func TestReplaceNeedsASession(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.do(req{method: http.MethodPost, path: "/" + testAud + "/usersreplace", form: url.Values{"payload": {mustJSON(t, emails("a"))}}})
	require.Equal(t, "(#100) The parameter session is required", a.errorOf()["message"])
	a = b.upload(http.MethodPost, "/"+testAud+"/usersreplace", emails("a"), map[string]any{"session_id": 5})
	require.Equal(t, "(#100) The parameter session[batch_seq] is required", a.errorOf()["message"])
	a = b.upload(http.MethodPost, "/"+testAud+"/usersreplace", emails("a"), map[string]any{"session_id": "5", "batch_seq": "1", "last_batch_flag": "true"})
	usersOK(t, a, 1, 0)
	require.Equal(t, "5", a.body["session_id"])
}

// An empty last batch completes a replace: the audience ends with the rows of
// the batches before.
func TestReplaceEmptyLastBatch(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	usersOK(t, b.add(testAud, emails("old")), 1, 0)
	usersOK(t, b.replaceBatch(testAud, 3, 1, false, emails("a")), 1, 0)
	usersOK(t, b.replaceBatch(testAud, 3, 2, true, map[string]any{"schema": "EMAIL_SHA256", "data": []any{}}), 0, 0)
	require.Equal(t, hashes("EMAIL", "a"), emailSet(b.sim, testAud))
}

// The guide: "changing the schema mid-session will result in errors".
func TestReplaceSchemaChangeRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	usersOK(t, b.replaceBatch(testAud, 10, 1, false, emails("a")), 1, 0)
	multi := map[string]any{"schema": []string{"EMAIL", "FN"}, "data": [][]string{{h("EMAIL", "b"), h("FN", "b")}}}
	replaceErr(t, b.replaceBatch(testAud, 10, 2, true, multi), 1870147, "Invalid Upload Batch for Replace")
	// EMAIL_SHA256 and EMAIL name the same key: the same schema.
	usersOK(t, b.replaceBatch(testAud, 10, 2, true, map[string]any{"schema": "EMAIL", "data": []string{h("EMAIL", "c")}}), 1, 0)
	require.Equal(t, hashes("EMAIL", "a", "c"), emailSet(b.sim, testAud))
}

// The guide's replace request: a JSON body, schema "EMAIL" as a string, rows
// of one cell.
func TestReplaceJSONBodySingleKeySchema(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.do(req{method: http.MethodPost, path: "/" + testAud + "/usersreplace", json: map[string]any{
		"session": map[string]any{"session_id": 9778993, "batch_seq": 1, "last_batch_flag": true, "estimated_num_total": 2},
		"payload": map[string]any{"schema": "EMAIL", "data": [][]string{{h("EMAIL", "a@x.com")}, {h("EMAIL", "b@x.com")}}},
	}})
	usersOK(t, a, 2, 0)
	require.Equal(t, hashes("EMAIL", "a@x.com", "b@x.com"), emailSet(b.sim, testAud))
}
