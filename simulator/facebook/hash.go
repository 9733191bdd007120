package facebook

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode"
)

// Normalize applies Meta's normalisation rules for a schema key to a raw value,
// for tests that build the identifiers a destination should send: EMAIL trimmed
// and lower case; PHONE digits only without leading zeros; GEN "m" or "f";
// DOBY four digits, DOBM and DOBD two; FN and LN lower case without
// punctuation; FI the first letter; CT and ST lower-case letters only; ZIP lower
// case without spaces or dashes (a US ZIP+4 cut to five digits); COUNTRY lower
// case; MADID lower case; EXTERN_ID and PAGEUID as they are.
func Normalize(key, value string) string {
	v := strings.TrimSpace(value)
	switch key {
	case "EMAIL", "COUNTRY", "MADID":
		return strings.ToLower(v)
	case "PHONE":
		return strings.TrimLeft(keep(v, unicode.IsDigit), "0")
	case "GEN":
		switch l := strings.ToLower(v); {
		case l == "", l == "m", l == "f":
			return l
		case strings.HasPrefix(l, "f") || strings.HasPrefix(l, "w"):
			return "f"
		default:
			return "m"
		}
	case "DOBY":
		return keep(v, unicode.IsDigit)
	case "DOBM", "DOBD":
		d := keep(v, unicode.IsDigit)
		if len(d) == 1 {
			d = "0" + d
		}
		return d
	case "FN", "LN":
		return strings.TrimSpace(keep(strings.ToLower(v), func(r rune) bool { return !unicode.IsPunct(r) && !unicode.IsSymbol(r) }))
	case "FI":
		fn := Normalize("FN", v)
		for _, r := range fn {
			return string(r)
		}
		return ""
	case "CT", "ST":
		return keep(strings.ToLower(v), unicode.IsLetter)
	case "ZIP":
		z := strings.ToLower(v)
		if usZIP4.MatchString(z) {
			return z[:5]
		}
		return strings.NewReplacer(" ", "", "-", "").Replace(z)
	}
	return v
}

var usZIP4 = regexp.MustCompile(`^[0-9]{5}-[0-9]{4}$`)

func keep(s string, f func(rune) bool) string {
	var b strings.Builder
	for _, r := range s {
		if f(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// HashValue is the value Meta expects for a key: the lower-case hex SHA-256 of
// the normalised value for hashed keys; the normalised value itself for MADID,
// EXTERN_ID and PAGEUID, which are sent unhashed. An empty value stays empty.
func HashValue(key, value string) string {
	n := Normalize(key, value)
	if n == "" {
		return ""
	}
	if kind, ok := schemaKeys[key]; ok && kind != kindHashed {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return hex.EncodeToString(sum[:])
}
