package record_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/record"
)

func dec(t *testing.T, s string) record.Decimal {
	d, err := record.ParseDecimal(s)
	require.NoError(t, err)
	return d
}

func TestJSON(t *testing.T) {
	t.Parallel()
	huge, _ := new(big.Int).SetString("-123456789012345678901234567890123", 10)
	cases := []struct {
		v    record.Value
		want string
	}{
		{nil, `null`},
		{true, `true`},
		{int64(-9223372036854775808), `-9223372036854775808`},
		{1.5, `1.5`},
		{1e21, `1e+21`},
		{1e-7, `1e-7`},
		{math.NaN(), `"NaN"`},
		{math.Inf(-1), `"-Infinity"`},
		{record.NewDecimal(huge, 5), `-1234567890123456789012345678.90123`},
		{record.NewDecimal(big.NewInt(1250), 2), `12.50`},
		{record.NewDecimal(big.NewInt(5), 3), `0.005`},
		{record.NewDecimal(big.NewInt(-5), 3), `-0.005`},
		{record.NewDecimal(big.NewInt(12), -2), `1200`},
		{"a\"b\\c\n\t\x01é\u2028", `"a\"b\\c\n\t\u0001é\u2028"`},
		{"\xff", `"\ufffd"`},
		{[]byte{0, 255}, `"AP8="`},
		{record.Date{Year: 2024, Month: 2, Day: 29}, `"2024-02-29"`},
		{record.Date{Year: 33, Month: 1, Day: 1}, `"0033-01-01"`},
		{time.Date(2024, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600)), `"2024-01-02T02:04:05.000006Z"`},
		{record.JSON(`{"z": 1, "a": [1.000]}`), `{"z": 1, "a": [1.000]}`},
		{[]record.Value{int64(1), nil, "x"}, `[1,null,"x"]`},
		{record.Struct{{Name: "z", Value: int64(1)}, {Name: "a", Value: record.Struct{}}}, `{"z":1,"a":{}}`},
	}
	for _, tc := range cases {
		got := string(record.AppendJSON(nil, tc.v))
		require.Equal(t, tc.want, got, "%#v", tc.v)
		require.True(t, json.Valid([]byte(got)), got)
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	t.Parallel()
	vals := []record.Value{
		nil, true, false, int64(0), int64(-1), int64(math.MaxInt64), 3.25, math.Inf(1),
		dec(t, "-0.00100"), "", "héllo", []byte{}, []byte{1, 2},
		record.Date{Year: -44, Month: 3, Day: 15}, record.Date{Year: 9999, Month: 12, Day: 31},
		time.Unix(-1, 999_999_999).UTC(), time.Date(2262, 1, 1, 0, 0, 0, 1, time.UTC),
		record.JSON(`[1,{"b":2}]`),
		[]record.Value{int64(1), []record.Value{"x"}, record.Struct{{Name: "k", Value: nil}}},
		record.Struct{{Name: "b", Value: int64(2)}, {Name: "a", Value: "1"}},
	}
	enc := record.AppendValues(nil, vals)
	got, err := record.DecodeValues(nil, enc)
	require.NoError(t, err)
	require.Equal(t, len(vals), len(got))
	for i := range vals {
		require.Equal(t, string(record.AppendJSON(nil, vals[i])), string(record.AppendJSON(nil, got[i])), "value %d", i)
		require.Equal(t, record.AppendValue(nil, vals[i]), record.AppendValue(nil, got[i]), "value %d encodes the same", i)
	}
}

func TestEncodingIsCanonical(t *testing.T) {
	t.Parallel()
	// Equal values encode equally; a value's encoding differs from other kinds'.
	require.Equal(t, record.AppendValue(nil, 0.0), record.AppendValue(nil, math.Copysign(0, -1)))
	require.Equal(t, record.AppendValue(nil, time.Date(2024, 1, 1, 1, 0, 0, 0, time.FixedZone("", 3600))), record.AppendValue(nil, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.NotEqual(t, record.AppendValue(nil, "1"), record.AppendValue(nil, int64(1)))
	require.NotEqual(t, record.AppendValue(nil, "x"), record.AppendValue(nil, []byte("x")))
	require.NotEqual(t, record.AppendValue(nil, "[]"), record.AppendValue(nil, record.JSON("[]")))
	require.NotEqual(t, record.AppendValue(nil, dec(t, "1.0")), record.AppendValue(nil, dec(t, "1.00")), "the scale is part of a decimal")
}

func TestDecimal(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "-1", "00012.340", "-0.0", "123456789012345678901234567890.0000000001"} {
		d := dec(t, s)
		back := record.NewDecimal(d.Unscaled(), d.Scale())
		require.Equal(t, d.String(), back.String())
	}
	require.Equal(t, "12.340", dec(t, "00012.340").String())
	require.Equal(t, "0.0", dec(t, "-0.0").String(), "no negative zero")
	for _, bad := range []string{"", "-", "1.", ".5", "1e5", "1,5", "--1", "0x10"} {
		_, err := record.ParseDecimal(bad)
		require.Error(t, err, bad)
	}
}

func TestKeyString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v    record.Value
		want string
		err  bool
	}{
		{int64(42), "42", false},
		{"abc", "abc", false},
		{dec(t, "10.50"), "10.50", false},
		{1.5, "1.5", false},
		{true, "true", false},
		{record.Date{Year: 2024, Month: 1, Day: 2}, "2024-01-02", false},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02T03:04:05Z", false},
		{[]byte{0xab}, "ab", false},
		{nil, "", true},
		{"", "", true},
		{math.NaN(), "", true},
		{[]record.Value{}, "", true},
		{record.JSON("1"), "", true},
	}
	for _, tc := range cases {
		got, err := record.KeyString(tc.v)
		if tc.err {
			require.Error(t, err, "%#v", tc.v)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}

func FuzzDecodeValues(f *testing.F) {
	f.Add(record.AppendValues(nil, []record.Value{int64(1), "x", []record.Value{nil}}))
	f.Add([]byte{3, 11, 200, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := record.DecodeValues(nil, b)
		shared, sharedErr := record.DecodeValuesShared(nil, b)
		require.Equal(t, err == nil, sharedErr == nil)
		if err != nil {
			return
		}
		require.Equal(t, record.AppendValues(nil, vals), record.AppendValues(nil, shared))
		// Re-encoding is stable: what decodes encodes to bytes that decode to the same encoding.
		enc := record.AppendValues(nil, vals)
		again, err := record.DecodeValues(nil, enc)
		require.NoError(t, err)
		require.Equal(t, enc, record.AppendValues(nil, again))
		for _, v := range vals {
			require.True(t, json.Valid(record.AppendJSON(nil, v)) || isJSONKind(v))
		}
	})
}

func isJSONKind(v record.Value) bool {
	_, ok := v.(record.JSON)
	if ok {
		return true
	}
	switch v := v.(type) {
	case []record.Value:
		for _, e := range v {
			if isJSONKind(e) {
				return true
			}
		}
	case record.Struct:
		for _, f := range v {
			if isJSONKind(f.Value) {
				return true
			}
		}
	}
	return false
}

func FuzzKeyString(f *testing.F) {
	f.Add("abc", int64(1), 1.5)
	f.Fuzz(func(t *testing.T, s string, i int64, fl float64) {
		// Distinct values of one type give distinct keys; equal values equal keys.
		a, errA := record.KeyString(s)
		b, errB := record.KeyString(s + "x")
		if errA == nil && errB == nil {
			require.NotEqual(t, a, b)
		}
		k1, _ := record.KeyString(i)
		k2, _ := record.KeyString(i + 1)
		if i != math.MaxInt64 {
			require.NotEqual(t, k1, k2)
		}
		if !math.IsNaN(fl) && !math.IsInf(fl, 0) {
			k, err := record.KeyString(fl)
			require.NoError(t, err)
			k0, _ := record.KeyString(fl + 0)
			require.Equal(t, k, k0)
		}
	})
}

func TestDecodeValuesSharedMatchesCopying(t *testing.T) {
	t.Parallel()
	vals := []record.Value{"x", []byte{1}, record.JSON(`{}`), dec(t, "-1.50"), dec(t, "0.0"), []record.Value{"a"}, record.Struct{{Name: "n", Value: "v"}}}
	enc := record.AppendValues(nil, vals)
	a, err := record.DecodeValues(nil, enc)
	require.NoError(t, err)
	b, err := record.DecodeValuesShared(nil, enc)
	require.NoError(t, err)
	require.Equal(t, a, b)
}

// Fields in encoded form behave exactly like fields holding the values.
func TestEncodedFieldsMatchValues(t *testing.T) {
	t.Parallel()
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}
	vals := []record.Value{nil, true, int64(-7), 2.5, dec(t, "10.50"), "é\"x", []byte{9},
		record.Date{Year: 2024, Month: 1, Day: 2}, time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC),
		record.JSON(`{"z":[1.0]}`), []record.Value{int64(1), "x"}, record.Struct{{Name: "q", Value: nil}}}
	plain := record.MakeFields(names, vals)
	enc := record.AppendValues(nil, vals)
	require.True(t, record.ValidEncoding(enc, len(vals)))
	require.False(t, record.ValidEncoding(enc, len(vals)+1))
	require.False(t, record.ValidEncoding(enc[:len(enc)-1], len(vals)))
	encoded := record.EncodedFields(names, enc)
	require.Equal(t, string(plain.AppendJSON(nil)), string(encoded.AppendJSON(nil)))
	require.Equal(t, enc, encoded.Encoded())
	require.Equal(t, enc, plain.Encoded())
	require.Equal(t, len(vals), encoded.Len())
	v, ok := encoded.Get("e")
	require.True(t, ok)
	require.Equal(t, "10.50", v.(record.Decimal).String())
}

func FuzzEncodedJSON(f *testing.F) {
	f.Add(record.AppendValues(nil, []record.Value{int64(1), "x", []record.Value{nil}, record.Struct{{Name: "k", Value: 1.5}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := record.DecodeValues(nil, b)
		valid := record.ValidEncoding(b, len(vals))
		if err != nil {
			require.False(t, valid && len(vals) > 0 && err == nil)
			return
		}
		require.True(t, valid, "a decodable encoding is valid")
		names := make([]string, len(vals))
		for i := range names {
			names[i] = fmt.Sprint("f", i)
		}
		require.Equal(t, string(record.MakeFields(names, vals).AppendJSON(nil)), string(record.EncodedFields(names, b).AppendJSON(nil)))
	})
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("plain ascii text that is long enough")
	f.Add("quote\" back\\slash \x00\x1f é \u2028 \xff")
	f.Fuzz(func(t *testing.T, s string) {
		out := record.AppendJSONString(nil, s)
		var back string
		require.NoError(t, json.Unmarshal(out, &back), "%q", out)
		want, _ := json.Marshal(s) // encoding/json also maps invalid UTF-8 to U+FFFD
		var wantBack string
		require.NoError(t, json.Unmarshal(want, &wantBack))
		require.Equal(t, wantBack, back)
	})
}

func TestNewDecimalInt64MatchesBig(t *testing.T) {
	t.Parallel()
	for _, v := range []int64{0, 1, -1, 5, -5, 12, 1250, -1250, 123456789, math.MaxInt64, math.MinInt64} {
		for _, scale := range []int{0, 1, 2, 3, 10, 20} {
			d := record.NewDecimalInt64(v, scale)
			if v != 0 {
				require.Equal(t, big.NewInt(v).String(), d.Unscaled().String(), "%d scale %d: %s", v, scale, d)
			}
			require.Equal(t, scale, d.Scale(), "%d scale %d: %s", v, scale, d)
			back, err := record.ParseDecimal(d.String())
			require.NoError(t, err)
			require.Equal(t, d, back, "canonical")
		}
	}
}

func TestTimestampJSONMatchesRFC3339Nano(t *testing.T) {
	t.Parallel()
	for _, ts := range []time.Time{
		time.Unix(0, 0), time.Unix(-1, 5), time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC), time.Date(9999, 12, 31, 1, 2, 3, 120000000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 3, 1, 0, 0, 0, 0, time.UTC),
	} {
		want := `"` + ts.UTC().Format(time.RFC3339Nano) + `"`
		require.Equal(t, want, string(record.AppendJSON(nil, ts)))
		enc := record.AppendValues(nil, []record.Value{ts})
		require.Equal(t, `{"t":`+want+`}`, string(record.EncodedFields([]string{"t"}, enc).AppendJSON(nil)))
	}
}

func TestAppendJSONWithReusesNames(t *testing.T) {
	t.Parallel()
	names := []string{"a\"b", "c"}
	var keys record.JSONKeys
	f := record.MakeFields(names, []record.Value{int64(1), "x"})
	require.Equal(t, string(f.AppendJSON(nil)), string(f.AppendJSONWith(nil, &keys)))
	other := record.MakeFields([]string{"z"}, []record.Value{true})
	require.Equal(t, `{"z":true}`, string(other.AppendJSONWith(nil, &keys)), "a different names slice is quoted anew")
	require.Equal(t, string(f.AppendJSON(nil)), string(f.AppendJSONWith(nil, &keys)))
}

// Decoding and validating agree on how deeply values may nest.
func TestNestingDepthAgrees(t *testing.T) {
	t.Parallel()
	for _, depth := range []int{10, 999, 1000, 1001, 5000} {
		var v record.Value = int64(1)
		for range depth {
			v = []record.Value{v}
		}
		enc := record.AppendValues(nil, []record.Value{v})
		_, err := record.DecodeValues(nil, enc)
		require.Equal(t, err == nil, record.ValidEncoding(enc, 1), "depth %d", depth)
	}
}
