package facebook

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/record"
)

// Worked examples of Meta's normalisation rules, each with the value Meta matches
// on (hashed with SHA-256, lowercase hex, except MADID and EXTERN_ID).
func TestNormalize(t *testing.T) {
	const (
		johnSmithEmail = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f" // john_smith@gmail.com
		phone          = "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176" // 16505551212
		john           = "96d9632f363564cc3032521409cf22a852f2032eec099ed5967c0d000cec607a"
		smith          = "6627835f988e2c5e50533d491163072d3f4f41f5c8b04630150debb3722ca2dd"
		m              = "62c66a7a5dd70c3146618063c344e531e6d4b59e379808443ce962b3abd63c5a"
		y1987          = "744b93f9950fc38dad705556931ea48193b99dcb191cc9bd77097f65fbe2f0b8"
		mm02           = "a953f09a1b6b6725b81956e9ad0b1eb49e3ad40004c04307ef8af6246a054116"
		dd07           = "19b100ab7725c612f3d80ff203ca53cea5cadaafae3bf0f88f0fb4089fe08815"
		newyork        = "350c754ba4d38897693aa077ef43072a859d23f613443133fecbbd90a3512ca5"
		ca             = "6959097001d10501ac7d54c0bdb8db61420f658f2922cc26e46d536119a31126"
		zip94025       = "b9a9cf3cd3723a2e91b7c23ecf68456e872b6e5d86e5cab7f3d45a7302da32c7"
		us             = "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"
		se             = "ad9a67fefa847de87753df6794a0ae466431e76ad1fb4db58fbbe836d1dde0e7"
		de             = "959a45d44e6fcf58361ed004681556fe50129f2109e817dec098c00c9e5d2578"
	)
	for _, tc := range []struct{ key, raw, want string }{
		{"EMAIL", "  John_Smith@Gmail.com ", johnSmithEmail},
		{"EMAIL", johnSmithEmail, johnSmithEmail}, // already hashed in the warehouse
		{"PHONE", "+1 (650) 555-1212", phone},
		{"PHONE", "001-650-555-1212", phone}, // leading zeros of an international prefix dropped
		{"FN", "John", john},
		{"FN", "  JOHN. ", john},
		{"LN", "Smith-", smith},
		{"GEN", "Male", m},
		{"GEN", "M", m},
		{"DOBY", "1987", y1987},
		{"DOBM", "2", mm02},
		{"DOBD", "7", dd07},
		{"CT", "New York", newyork},
		{"ST", "California", ca},
		{"ST", "CA", ca},
		{"ZIP", "94025-1234", zip94025},
		{"COUNTRY", "US", us},
		{"COUNTRY", "United States", us},
		{"COUNTRY", "Sweden", se},
		{"COUNTRY", "Deutschland", de},
		{"MADID", "6D92078A-8246-4BA4-AE5B-76104861E7DC", "6d92078a-8246-4ba4-ae5b-76104861e7dc"}, // not hashed
		{"EXTERN_ID", "Cust-42", "Cust-42"}, // as is, not hashed
		{"EMAIL", "", ""},                   // unknown cell
	} {
		got, err := Normalize(tc.key, tc.raw)
		require.NoError(t, err, "%s %q", tc.key, tc.raw)
		require.Equal(t, tc.want, got, "%s %q", tc.key, tc.raw)
	}
}

// sha is the lowercase hex SHA-256 of s.
func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Names keep the combining marks they are written with (a Devanagari vowel
// sign or virama is a mark, not punctuation), and decomposed text (NFD, as
// some systems store it) hashes as its composed form (NFC) does.
func TestNormalizeKeepsMarksInNames(t *testing.T) {
	for _, tc := range []struct{ key, raw, want string }{
		{"FN", "प्रिया", "प्रिया"},
		{"FN", "Zoe\u0308", "zoë"},
		{"FN", "Zoë", "zoë"},
		{"LN", "Nguye\u0302\u0303n", "nguyễn"},
		{"LN", "Nguyê\u0303n", "nguyễn"},
		{"FI", "E\u0301mile", "é"},
		{"FI", "\u0301Émile", "é"},
		{"CT", "Zu\u0308rich", "zürich"},
		{"ST", "Bayern.", "bayern"},
	} {
		got, err := Normalize(tc.key, tc.raw)
		require.NoError(t, err, "%s %q", tc.key, tc.raw)
		require.Equal(t, sha(tc.want), got, "%s %q: want sha256(%q)", tc.key, tc.raw, tc.want)
	}
	// A country name written decomposed is understood as written composed.
	got, err := Normalize("COUNTRY", "O\u0308sterreich")
	require.NoError(t, err)
	require.Equal(t, sha("at"), got)
}

// A value hashed in the warehouse is sent as it is, for every hashed key: no
// valid plain ZIP or year of birth is 64 hex digits.
func TestNormalizePassesDigestsThrough(t *testing.T) {
	for _, key := range Keys {
		if !hashed(key) {
			continue
		}
		digest := sha("some value of " + key)
		for _, raw := range []string{digest, strings.ToUpper(digest), " " + digest + " "} {
			got, err := Normalize(key, raw)
			require.NoError(t, err, "%s %q", key, raw)
			require.Equal(t, digest, got, "%s %q", key, raw)
		}
	}
}

// A phone number loses what is written with it but not dialled from abroad: an
// extension (however written), a "tel:" scheme with its parameters, and a
// trunk prefix "(0)" after the country code. A 0 not in brackets is dialled.
func TestNormalizePhoneExtensionsAndTrunkPrefixes(t *testing.T) {
	for raw, want := range map[string]string{
		"+1 (650) 555-1212 ext 34":              "16505551212",
		"+1 (650) 555-1212 ext. 34":             "16505551212",
		"+1 650 555 1212 x34":                   "16505551212",
		"650-555-1212x34 ":                      "6505551212",
		"+1 650 555 1212 extension 34":          "16505551212",
		"+1 650 555 1212 #34":                   "16505551212",
		"+1 650 555 1212 extn 5":                "16505551212",
		"+1 650 555 1212 Extn. 5":               "16505551212",
		"+1 650 555 1212;ext=5":                 "16505551212",
		"+1 650 555 1212, ext. 5":               "16505551212",
		"tel:+1-650-555-1212;ext=5":             "16505551212",
		"TEL:+1-650-555-1212":                   "16505551212",
		"tel:+1-650-555-1212;phone-context=x.y": "16505551212",
		"tel:+44-(0)20-7946-0958;ext=12":        "442079460958",
		"+44 (0)20 7946 0958":                   "442079460958",
		"0044 (0) 20 7946 0958":                 "442079460958",
		"(020) 7946 0958":                       "2079460958",   // no country code: only the digits
		"+39 06 6982 1234":                      "390669821234", // Rome: the 0 is dialled from abroad
		"+39 06 6982 1234 ext 7":                "390669821234",
	} {
		got, err := Normalize("PHONE", raw)
		require.NoError(t, err, "%q", raw)
		require.Equal(t, sha(want), got, "%q: want sha256(%q)", raw, want)
	}
}

func TestNormalizeRefusesWhatCannotMatch(t *testing.T) {
	for _, tc := range []struct{ key, raw, msg string }{
		{"EMAIL", "not-an-email", "not an email address"},
		{"PHONE", "12", "not a phone number"},
		{"GEN", "x", "m or f"},
		{"DOBM", "13", "month of birth"},
		{"DOBY", "87", "year of birth"},
		{"COUNTRY", "Atlantis", "ISO 3166"},
	} {
		_, err := Normalize(tc.key, tc.raw)
		require.ErrorContains(t, err, tc.msg, "%s %q", tc.key, tc.raw)
	}
}

// Warehouse values become the text the rules apply to: numbers as written, a
// date's year, month or day for the birth-date keys.
func TestIdentifierText(t *testing.T) {
	for _, tc := range []struct {
		key  string
		v    record.Value
		want string
	}{
		{"PHONE", int64(16505551212), "16505551212"},
		{"PHONE", float64(16505551212), "16505551212"},
		{"EXTERN_ID", record.NewDecimalInt64(4200, 2), "42.00"},
		{"DOBY", record.Date{Year: 1987, Month: 2, Day: 7}, "1987"},
		{"DOBM", record.Date{Year: 1987, Month: 2, Day: 7}, "02"},
		{"DOBD", time.Date(1987, 2, 7, 23, 0, 0, 0, time.UTC), "07"},
		// A timestamp is an instant (record.Value's are in UTC): its UTC day.
		// Midnight on 1 May in Paris is 30 April there; hold birth dates as DATE.
		{"DOBD", time.Date(1990, 5, 1, 0, 0, 0, 0, time.FixedZone("CEST", 2*3600)), "30"},
		{"DOBM", time.Date(1990, 5, 1, 0, 0, 0, 0, time.FixedZone("CEST", 2*3600)), "04"},
		{"DOBY", time.Date(1990, 12, 31, 20, 0, 0, 0, time.FixedZone("EST", -5*3600)), "1991"},
		{"EMAIL", nil, ""},
	} {
		got, err := identifierText(tc.key, tc.v)
		require.NoError(t, err, "%s %v", tc.key, tc.v)
		require.Equal(t, tc.want, got, "%s %v", tc.key, tc.v)
	}
	_, err := identifierText("EMAIL", true)
	require.ErrorContains(t, err, "is a bool value, which cannot be an identifier")
	_, err = identifierText("FN", record.Date{Year: 1987, Month: 2, Day: 7})
	require.ErrorContains(t, err, "is a date (1987-02-07), which is not a first name")
}

// LOOKALIKE_VALUE is a number of at least 0, sent as a number, not hashed.
func TestCustomerValue(t *testing.T) {
	for _, tc := range []struct {
		v    record.Value
		want string
	}{
		{int64(5230), "5230"}, {5230.5, "5230.5"}, {record.NewDecimalInt64(523050, 2), "5230.50"}, {" 12.5 ", "12.5"}, {nil, ""},
	} {
		got, err := customerValue(tc.v)
		require.NoError(t, err, "%v", tc.v)
		require.Equal(t, tc.want, got, "%v", tc.v)
	}
	_, err := customerValue(int64(-1))
	require.ErrorContains(t, err, "-1 is negative")
	_, err = customerValue("a lot")
	require.ErrorContains(t, err, `"a lot" is not a number`)
}
