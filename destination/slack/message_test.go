package slack_test

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/conformance"
	"github.com/sluicehq/sluice/destination/slack"
	"github.com/sluicehq/sluice/record"
)

// Templates render against the row's columns with Liquid's filters and tags;
// each message is the text of one chat.postMessage.
func TestTemplatesRenderTheRow(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	cases := []struct {
		template string
		want     string
	}{
		{accountTemplate, "Acme has 12 unused seats (owner ada@acme.test)"},
		{"{{ row.name | upcase }} on {{ row.plan | default: 'no plan' }}", "ACME on pro"},
		{"{% if row.unused_seats > 10 %}:rotating_light: {{ row.name }}{% else %}{{ row.name }}{% endif %}", ":rotating_light: Acme"},
		{"{{ row.name }}: {{ row.unused_seats | times: 40 }} $/month wasted", "Acme: 480 $/month wasted"},
		{"{{ row.name | truncate: 3, '' }}|{{ row.owner_email | split: '@' | last }}", "Acm|acme.test"},
		{"*{{ row.name }}* <mailto:{{ row.owner_email }}|owner> & co", "*Acme* <mailto:ada@acme.test|owner> & co"},
		{"  {{ row.name }}\n", "Acme"}, // a YAML block's newline is not sent
	}
	for _, tc := range cases {
		sc := &slack.SyncConfig{Channel: alerts, Template: tc.template}
		d := tb.open(t, tb.botConfig(fast), connector.ModeInsert, sc)
		err, _ := write(d, account(record.OpAdd, sc, "1", "Acme", 12, "ada@acme.test", "pro"))
		require.NoError(t, err, tc.template)
	}
	var want []string
	for _, tc := range cases {
		want = append(want, tc.want)
	}
	require.Equal(t, want, tb.texts(alerts))
}

// Values reach templates as Liquid knows them: numbers as numbers, timestamps
// and dates for the date filter, lists for join, nulls as nothing.
func TestTemplatesSeeTypedValues(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	sc := &slack.SyncConfig{Channel: alerts, Template: "{{ row.seen | date: '%Y-%m-%d %H:%M' }} {{ row.renews | date: '%b %d' }} " +
		"{{ row.mrr | round: 1 }} {{ row.tags | join: ', ' }} [{{ row.note }}] {{ row.meta.tier }}"}
	fields := []string{"id", "seen", "renews", "mrr", "tags", "note", "meta"}
	info := connector.SyncInfo{Name: "s", Mode: connector.ModeInsert, KeyColumn: "id", KeyField: "id", Fields: fields}
	d, err := slack.Spec.Open(t.Context(), connector.DestinationParams{Config: tb.botConfig(fast), SyncConfig: sc, Sync: info})
	require.NoError(t, err, "without the engine's placement, the columns are found by name")
	err, _ = write(d, record.Change{Op: record.OpAdd, Key: "1", Fields: record.MakeFields(fields, []record.Value{
		"1", time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC), record.Date{Year: 2027, Month: 1, Day: 31},
		record.NewDecimal(big.NewInt(123456), 2), []record.Value{"beta", "sso"}, nil, record.JSON(`{"tier":"gold"}`),
	})})
	require.NoError(t, err)
	require.Equal(t, []string{"2026-11-25 09:30 Jan 31 1234.6 beta, sso [] gold"}, tb.texts(alerts))
}

// Each type of change has its message: added and changed rows render their
// current fields, a removed row the fields it was last sent with.
func TestTemplatesPerChangeType(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	sc := &slack.SyncConfig{Channel: alerts, Templates: slack.Templates{
		Added:   ":new: {{ row.name }} needs attention: {{ row.unused_seats }} unused seats",
		Changed: "{{ row.name }} now has {{ row.unused_seats }} unused seats",
		Removed: ":white_check_mark: {{ row.name }} is fine again ({{ row.unused_seats }} unused seats when last seen)",
	}}
	d := tb.open(t, tb.botConfig(fast), connector.ModeMirror, sc)
	changed := account(record.OpChange, sc, "2", "Globex", 30, "hank@globex.test", nil)
	changed.Previous = account(record.OpAdd, sc, "2", "Globex", 25, "hank@globex.test", nil).Fields
	err, _ := write(d,
		account(record.OpAdd, sc, "1", "Acme", 12, "ada@acme.test", "pro"),
		changed,
		account(record.OpRemove, sc, "3", "Initech", 7, "bill@initech.test", "team"),
	)
	require.NoError(t, err)
	require.Equal(t, []string{
		":new: Acme needs attention: 12 unused seats",
		"Globex now has 30 unused seats",
		":white_check_mark: Initech is fine again (7 unused seats when last seen)",
	}, tb.texts(alerts))

	// template serves the types without their own message.
	sc = &slack.SyncConfig{Channel: alerts, Template: "{{ row.name }}: {{ row.unused_seats }}", Templates: slack.Templates{Removed: "{{ row.name }} left"}}
	d = tb.open(t, tb.botConfig(fast), connector.ModeMirror, sc)
	err, _ = write(d, account(record.OpAdd, sc, "4", "Umbrella", 3, "", nil), account(record.OpChange, sc, "4", "Umbrella", 4, "", nil),
		account(record.OpRemove, sc, "4", "Umbrella", 4, "", nil))
	require.NoError(t, err)
	require.Equal(t, []string{"Umbrella: 3", "Umbrella: 4", "Umbrella left"}, tb.texts(alerts)[3:])
}

// A removed row's fields were stored by an earlier run, possibly before the
// template read another column: the columns are found by name, and a column
// the stored row lacks renders as nothing.
func TestRemovedRowsRenderFromTheirStoredFields(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	sc := &slack.SyncConfig{Channel: alerts, Template: accountTemplate, Templates: slack.Templates{Removed: "{{ row.name }} ({{ row.plan | default: 'plan unknown' }}) left"}}
	d := tb.open(t, tb.botConfig(fast), connector.ModeMirror, sc)
	old := []string{"id", "name", "unused_seats", "name"}
	err, _ := write(d, record.Change{Op: record.OpRemove, Key: "9", Fields: record.MakeFields(old, []record.Value{"9", "Hooli", int64(1), "Hooli"})})
	require.NoError(t, err)
	require.Equal(t, []string{"Hooli (plan unknown) left"}, tb.texts(alerts))
}

// A row whose message cannot be rendered, or renders empty, fails alone and
// costs no request; the others are posted.
func TestRowsWithoutAMessageFailAlone(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	sc := &slack.SyncConfig{Channel: alerts, Template: "{{ row.name }}{% if row.unused_seats > 0 %} wastes {{ 100 | divided_by: row.unused_seats }}%{% endif %}"}
	d := tb.open(t, tb.botConfig(fast), connector.ModeInsert, sc)
	err, exchanges := write(d,
		account(record.OpAdd, sc, "1", "Acme", 4, "", nil),
		account(record.OpAdd, sc, "2", "", 0, "", nil),
		account(record.OpAdd, sc, "3", "Globex", 0, "", nil),
	)
	fails := conformance.FailedRows(t, err)
	require.Len(t, fails, 1)
	require.Contains(t, fails[1], "the template rendered an empty message for this row")
	require.Contains(t, fails[1], "default:")
	require.Len(t, exchanges, 2, "the empty message was not sent")
	require.Equal(t, []string{"Acme wastes 25%", "Globex"}, tb.texts(alerts))

	sc = &slack.SyncConfig{Channel: alerts, Template: "{{ row.name }} {{ 100 | divided_by: row.unused_seats }}"}
	d = tb.open(t, tb.botConfig(fast), connector.ModeInsert, sc)
	err, _ = write(d, account(record.OpAdd, sc, "2", "Initech", 0, "", nil))
	fails = conformance.FailedRows(t, err)
	require.Contains(t, fails[0], "render the message")
	require.Contains(t, fails[0], "divided_by")
	require.False(t, connector.RateLimited(err))
}

// The row's text is escaped for Slack's markup, the template's is not: a value
// shows as written, and a value "<!channel>" notifies nobody.
func TestValuesAreEscapedForSlack(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	sc := &slack.SyncConfig{Channel: alerts, Template: "<https://crm.example/{{ row.id }}|{{ row.name }}> & {{ row.owner_email }}: {{ row.plan.tags | join: ' ' }}"}
	d := tb.open(t, tb.botConfig(fast), connector.ModeInsert, sc)
	err, _ := write(d, account(record.OpAdd, sc, "7", "Smith & <Sons>", 1, "<!channel>", record.JSON(`{"tags":["a&b","<c>"]}`)))
	require.NoError(t, err)
	require.Equal(t, []string{"<https://crm.example/7|Smith &amp; &lt;Sons&gt;> & &lt;!channel&gt;: a&amp;b &lt;c&gt;"}, tb.texts(alerts))
}

// Values are escaped after the template's filters ran: a case filter does not
// corrupt an entity, and a value decoding to markup notifies nobody.
func TestValuesAreEscapedAfterFilters(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	sc := &slack.SyncConfig{Channel: alerts, Template: "{{ row.name | upcase }} / {{ row.owner_email | url_decode }} / {{ row.unused_seats | times: 1000000 }}"}
	d := tb.open(t, tb.botConfig(fast), connector.ModeInsert, sc)
	err, _ := write(d, account(record.OpAdd, sc, "1", "AT&T", 3, "%3C%21channel%3E", nil))
	require.NoError(t, err)
	require.Equal(t, []string{"AT&amp;T / &lt;!channel&gt; / 3000000"}, tb.texts(alerts))
}

// A message longer than Slack keeps fails its row before it is sent, instead of
// being cut by Slack with the row recorded as delivered.
func TestMessagesOverSlacksLimitFail(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced()) // the simulator cuts long text, as Slack does
	sc := &slack.SyncConfig{Channel: alerts, Template: "{{ row.name }} END"}
	d := tb.open(t, tb.botConfig(fast), connector.ModeInsert, sc)
	err, exchanges := write(d,
		account(record.OpAdd, sc, "1", strings.Repeat("x", 40_000), 1, "", nil),
		account(record.OpAdd, sc, "2", strings.Repeat("é", 39_996), 1, "", nil),
	)
	fails := conformance.FailedRows(t, err)
	require.Len(t, fails, 1)
	require.Contains(t, fails[0], "the message is 40004 characters, and Slack cuts a text after 40000")
	require.Len(t, exchanges, 1, "the long message was not sent")
	require.Equal(t, []string{strings.Repeat("é", 39_996) + " END"}, tb.texts(alerts), "40,000 characters (not bytes) are allowed")
}

// An insert sync run with --full-resync posts its rows again with its message,
// though they come as changes; an update sync's new rows likewise.
func TestFullResyncPostsWithTheModesMessage(t *testing.T) {
	t.Parallel()
	tb := setup(t, unpaced())
	sc := &slack.SyncConfig{Channel: alerts, Templates: slack.Templates{Added: "{{ row.name }} is new"}}
	d := tb.open(t, tb.botConfig(fast), connector.ModeInsert, sc)
	err, _ := write(d, account(record.OpChange, sc, "1", "Acme", 1, "", nil))
	require.NoError(t, err)
	sc = &slack.SyncConfig{Channel: alerts, Templates: slack.Templates{Changed: "{{ row.name }} changed"}}
	d = tb.open(t, tb.botConfig(fast), connector.ModeUpdate, sc)
	err, _ = write(d, account(record.OpAdd, sc, "2", "Globex", 1, "", nil))
	require.NoError(t, err)
	require.Equal(t, []string{"Acme is new", "Globex changed"}, tb.texts(alerts))
}
