package salesforce

import (
	"math"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector/saas"
	"github.com/sluicehq/sluice/record"
)

func TestValuesAsSalesforceTakesThem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v         record.Value
		json, csv string
	}{
		{nil, `null`, `#N/A`},
		{true, `true`, `true`},
		{int64(-9007199254740993), `-9007199254740993`, `-9007199254740993`},
		{0.0000001, `0.0000001`, `0.0000001`},
		{math.Copysign(0, -1), `0`, `0`},
		{1e21, `1000000000000000000000`, `1000000000000000000000`},
		{math.NaN(), `"NaN"`, `NaN`},
		{record.NewDecimal(big.NewInt(-1250), 2), `-12.50`, `-12.50`},
		{"Ada", `"Ada"`, `Ada`},
		{"", `""`, `#N/A`},
		{" padded ", `" padded "`, ` padded `},
		{`Springfield "North", Unified`, `"Springfield \"North\", Unified"`, `"Springfield ""North"", Unified"`},
		{"two\nlines", `"two\nlines"`, "\"two\nlines\""},
		{[]byte("hi"), `"aGk="`, `aGk=`},
		{record.Date{Year: 2024, Month: 2, Day: 29}, `"2024-02-29"`, `2024-02-29`},
		{time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600)), `"2024-05-06T06:08:09.123Z"`, `2024-05-06T06:08:09.123Z`},
		{record.JSON(`{"a":1}`), `"{\"a\":1}"`, `"{""a"":1}"`},
		{[]record.Value{"a", int64(1)}, `"[\"a\",1]"`, `"[""a"",1]"`},
		{record.Struct{{Name: "z", Value: true}}, `"{\"z\":true}"`, `"{""z"":true}"`},
	} {
		var scratch []byte
		require.Equal(t, tc.json, string(appendJSONValue(nil, tc.v, &scratch)), "JSON of %#v", tc.v)
		require.Equal(t, tc.csv, string(appendCSVValue(nil, tc.v, &scratch)), "CSV of %#v", tc.v)
	}
	require.Equal(t, `Springfield "North", Unified`, valueText(`Springfield "North", Unified`))
	require.Equal(t, `[1,2]`, valueText([]record.Value{int64(1), int64(2)}))
	require.Equal(t, "42", valueText(int64(42)))
	require.Equal(t, "", valueText(nil))
}

func TestSforceLimitInfo(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	require.Nil(t, limitInfo(h))
	h.Set("Sforce-Limit-Info", "api-usage=18/15000")
	require.Equal(t, &saas.DailyState{Max: 15000, Remaining: 14982}, limitInfo(h))
	h.Set("Sforce-Limit-Info", "api-usage=100/100, per-app-api-usage=17/250(appName=sluice)")
	require.Equal(t, &saas.DailyState{Max: 100, Remaining: 0}, limitInfo(h))
	h.Set("Sforce-Limit-Info", "per-app-api-usage=17/250(appName=sluice), api-usage=120/100")
	require.Equal(t, &saas.DailyState{Max: 100, Remaining: 0}, limitInfo(h), "a soft overage")
	h.Set("Sforce-Limit-Info", "api-usage=lots")
	require.Nil(t, limitInfo(h))
}

func TestRequestLimitCodes(t *testing.T) {
	t.Parallel()
	daily := []byte(`[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`)
	concurrent := []byte(`[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`)
	require.True(t, isDailyLimit(http.StatusForbidden, nil, daily))
	require.False(t, isThrottled(http.StatusForbidden, nil, daily), "waiting does not help: no pause, no halving")
	require.False(t, isDailyLimit(http.StatusForbidden, nil, concurrent))
	require.True(t, isThrottled(http.StatusForbidden, nil, concurrent))
	require.False(t, isThrottled(http.StatusForbidden, nil, []byte(`[{"message":"no","errorCode":"INSUFFICIENT_ACCESS"}]`)))
}

func TestBulkErrorText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, code, msg string }{
		{"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --", "REQUIRED_FIELD_MISSING", "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (fields: Name)"},
		{"UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--", "UNABLE_TO_LOCK_ROW", "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record"},
		{"DUPLICATE_VALUE:Duplicate external id specified: D-1:--", "DUPLICATE_VALUE", "DUPLICATE_VALUE: Duplicate external id specified: D-1"},
		{"Something odd happened", "", "Something odd happened"},
		{"", "", "refused without an error"},
	} {
		code, msg := parseBulkError(tc.in)
		require.Equal(t, tc.code, code, tc.in)
		require.Equal(t, tc.msg, msg, tc.in)
	}
}

func TestSOQLLiterals(t *testing.T) {
	t.Parallel()
	d := &Destination{}
	lit, ok := d.soqlLiteral(`O'Brien \ "North"`)
	require.True(t, ok)
	require.Equal(t, `'O\'Brien \\ \"North\"'`, lit)
	require.Equal(t, "d-1", d.extKey("D-1"), "text external IDs match without case")
	d.extCaseSensitive.Store(true)
	require.Equal(t, "D-1", d.extKey("D-1"))
	d.extNumeric.Store(true)
	lit, ok = d.soqlLiteral("42.0")
	require.True(t, ok)
	require.Equal(t, "42", lit)
	_, ok = d.soqlLiteral("forty-two")
	require.False(t, ok, "a number field holds no word")
	require.Equal(t, d.extKey("42"), d.extKey("42.00"))
}

// Polls of a job come at most an eighth of the previous job's time apart, so a
// job the org processes in seconds is seen done within a fraction of that, not
// up to 5 s later; a job that has run longer than that is polled at most an
// eighth of its own age apart, so that one taking minutes after quick ones is
// not polled every 250 ms; never closer than the first poll's delay, never
// farther than the longest.
func TestPollLimit(t *testing.T) {
	first, last := 250*time.Millisecond, 5*time.Second
	require.Equal(t, last, pollLimit(first, last, 0, time.Second), "no job processed yet: polls just double")
	require.Equal(t, time.Second, pollLimit(first, last, 8*time.Second, time.Second))
	require.Equal(t, first, pollLimit(first, last, time.Second, time.Second))
	require.Equal(t, last, pollLimit(first, last, 10*time.Minute, time.Second))
	// After a quick job, a job queued for minutes backs off with its age.
	require.Equal(t, first, pollLimit(first, last, 100*time.Millisecond, time.Second))
	require.Equal(t, 2*time.Second, pollLimit(first, last, 100*time.Millisecond, 16*time.Second))
	require.Equal(t, last, pollLimit(first, last, 100*time.Millisecond, 10*time.Minute))
}
