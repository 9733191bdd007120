// Package facebook is the Meta (Facebook) Custom Audiences destination. This file
// holds Meta's rules for normalising and hashing customer identifiers.
package facebook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Keys are the customer-file schema keys Sluice sends, in Meta's documentation
// order. MADID and EXTERN_ID are sent as they are; every other key is normalised
// and SHA-256 hashed (https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences#hash).
var Keys = []string{"EXTERN_ID", "EMAIL", "PHONE", "GEN", "DOBY", "DOBM", "DOBD", "LN", "FN", "FI", "CT", "ST", "ZIP", "MADID", "COUNTRY"}

// hashed reports whether Meta expects key's values hashed.
func hashed(key string) bool { return key != "MADID" && key != "EXTERN_ID" }

var (
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
	usZIP     = regexp.MustCompile(`^(\d{5})(?:-?\d{4})?$`)
	emailForm = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	// phoneExt is an extension written after a number ("ext 34", "extn 34",
	// "x34", "#34", ";ext=34" as in RFC 3966): not part of the number Meta
	// matches on.
	phoneExt = regexp.MustCompile(`(?i)\s*[;,]?\s*(?:#|x\.?|ext(?:n|ension)?\.?)\s*[:=]?\s*\d{1,6}\s*$`)
	// phoneTrunk is a national trunk prefix written after the country code, as in
	// "+44 (0)20 7946 0958": dialled at home, not from abroad.
	phoneTrunk = regexp.MustCompile(`\(\s*0\s*\)`)
)

// Normalize turns one identifier as the warehouse holds it into the value Meta
// matches on, hashed when Meta expects it hashed. An empty input is an unknown
// cell (""); an input that cannot be a valid identifier is an error naming why.
// A value that is already a SHA-256 digest (64 hex digits) is passed through in
// lower case, so that a model may hash in the warehouse; for every hashed key,
// ZIP and DOBY included, no valid plain value has that form.
func Normalize(key, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	if hashed(key) && sha256Hex.MatchString(strings.ToLower(raw)) {
		return strings.ToLower(raw), nil
	}
	v, err := normalize(key, raw)
	if err != nil || v == "" {
		return "", err
	}
	if !hashed(key) {
		return v, nil
	}
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:]), nil
}

func normalize(key, raw string) (string, error) {
	switch key {
	case "EMAIL":
		v := strings.ToLower(raw)
		if !emailForm.MatchString(v) {
			return "", fmt.Errorf("%q is not an email address", raw)
		}
		return v, nil
	case "PHONE":
		v := strings.TrimLeft(onlyDigits(phoneNumber(raw)), "0")
		if len(v) < 7 || len(v) > 15 {
			return "", fmt.Errorf("%q is not a phone number with its country code (7 to 15 digits)", raw)
		}
		return v, nil
	case "GEN":
		switch strings.ToLower(raw) {
		case "m", "male", "man":
			return "m", nil
		case "f", "female", "woman":
			return "f", nil
		}
		return "", fmt.Errorf("%q is not a gender Meta matches on (m or f)", raw)
	case "DOBY":
		v := onlyDigits(raw)
		if len(v) != 4 {
			return "", fmt.Errorf("%q is not a year of birth (YYYY)", raw)
		}
		return v, nil
	case "DOBM":
		return twoDigits(raw, 1, 12, "month of birth (MM)")
	case "DOBD":
		return twoDigits(raw, 1, 31, "day of birth (DD)")
	case "FN", "LN":
		return lettersOnly(strings.ToLower(raw)), nil
	case "FI":
		// The first letter: a leading combining mark has no letter to sit on.
		for _, r := range lettersOnly(strings.ToLower(raw)) {
			if unicode.IsLetter(r) {
				return string(r), nil
			}
		}
		return "", nil
	case "CT":
		return lettersOnly(strings.ToLower(raw)), nil
	case "ST":
		v := lettersOnly(strings.ToLower(raw))
		if code, ok := usStates[v]; ok {
			return code, nil
		}
		return v, nil
	case "ZIP":
		compact := strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(raw))
		if m := usZIP.FindStringSubmatch(strings.ReplaceAll(strings.ReplaceAll(raw, " ", ""), "–", "-")); m != nil {
			return m[1], nil
		}
		return compact, nil
	case "COUNTRY":
		v := lettersOnly(strings.ToLower(raw))
		if code, ok := countryNames[v]; ok {
			return code, nil
		}
		if len(v) != 2 {
			return "", fmt.Errorf("%q is not an ISO 3166 alpha-2 country code (e.g. US, DE)", raw)
		}
		return v, nil
	case "MADID":
		return strings.ToLower(raw), nil
	case "EXTERN_ID":
		return raw, nil
	}
	return "", fmt.Errorf("unknown schema key %s", key)
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// phoneNumber is a phone number without what is written with it but not
// dialled from abroad: a "tel:" scheme (RFC 3966) with its parameters, an
// extension at its end and, after a country code, a trunk prefix "(0)" (Meta's
// normalisation guidance). A 0 that is not bracketed is dialled: an Italian
// number keeps it (+39 06…).
func phoneNumber(raw string) string {
	if len(raw) >= 4 && strings.EqualFold(raw[:4], "tel:") {
		raw, _, _ = strings.Cut(strings.TrimSpace(raw[4:]), ";") // ;ext=, ;isub=, ;phone-context=
	}
	raw = phoneExt.ReplaceAllString(raw, "")
	if strings.HasPrefix(raw, "+") || strings.HasPrefix(raw, "00") {
		raw = phoneTrunk.ReplaceAllString(raw, "")
	}
	return raw
}

// lettersOnly keeps letters and the combining marks written with them (any
// script: Meta takes names in UTF-8; a Devanagari vowel sign or virama is a
// mark, not punctuation) and drops spaces, punctuation and digits. What is
// kept is put in Unicode normal form C: "Zoe" followed by a combining
// diaeresis and "Zoë" are the same name, and must hash the same.
func lettersOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.Is(unicode.Mark, r) {
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

func twoDigits(raw string, lo, hi int, what string) (string, error) {
	v := onlyDigits(raw)
	n := 0
	for _, c := range v {
		n = n*10 + int(c-'0')
	}
	if v == "" || len(v) > 2 || n < lo || n > hi {
		return "", fmt.Errorf("%q is not a %s", raw, what)
	}
	return fmt.Sprintf("%02d", n), nil
}

// usStates maps US state names to their two-letter codes, lowercased.
var usStates = map[string]string{
	"alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca", "colorado": "co",
	"connecticut": "ct", "delaware": "de", "districtofcolumbia": "dc", "florida": "fl", "georgia": "ga",
	"hawaii": "hi", "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia", "kansas": "ks",
	"kentucky": "ky", "louisiana": "la", "maine": "me", "maryland": "md", "massachusetts": "ma",
	"michigan": "mi", "minnesota": "mn", "mississippi": "ms", "missouri": "mo", "montana": "mt",
	"nebraska": "ne", "nevada": "nv", "newhampshire": "nh", "newjersey": "nj", "newmexico": "nm",
	"newyork": "ny", "northcarolina": "nc", "northdakota": "nd", "ohio": "oh", "oklahoma": "ok",
	"oregon": "or", "pennsylvania": "pa", "rhodeisland": "ri", "southcarolina": "sc", "southdakota": "sd",
	"tennessee": "tn", "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
	"westvirginia": "wv", "wisconsin": "wi", "wyoming": "wy", "puertorico": "pr",
}

// countryNames maps the country names warehouses commonly hold to ISO codes.
var countryNames = map[string]string{
	"unitedstates": "us", "unitedstatesofamerica": "us", "usa": "us", "unitedkingdom": "gb", "uk": "gb",
	"greatbritain": "gb", "germany": "de", "deutschland": "de", "france": "fr", "canada": "ca",
	"australia": "au", "india": "in", "japan": "jp", "brazil": "br", "mexico": "mx", "spain": "es",
	"italy": "it", "netherlands": "nl", "ireland": "ie", "newzealand": "nz",
	"sweden": "se", "norway": "no", "denmark": "dk", "finland": "fi", "iceland": "is", "switzerland": "ch",
	"austria": "at", "belgium": "be", "luxembourg": "lu", "portugal": "pt", "poland": "pl", "czechia": "cz",
	"czechrepublic": "cz", "greece": "gr", "turkey": "tr", "turkiye": "tr", "israel": "il", "southafrica": "za",
	"nigeria": "ng", "kenya": "ke", "egypt": "eg", "argentina": "ar", "chile": "cl", "colombia": "co", "peru": "pe",
	"china": "cn", "southkorea": "kr", "singapore": "sg", "hongkong": "hk", "taiwan": "tw", "indonesia": "id",
	"philippines": "ph", "thailand": "th", "vietnam": "vn", "malaysia": "my", "pakistan": "pk", "unitedarabemirates": "ae",
	"uae": "ae", "saudiarabia": "sa", "espana": "es", "españa": "es", "brasil": "br", "méxico": "mx", "österreich": "at",
	"schweiz": "ch", "suisse": "ch", "sverige": "se", "norge": "no", "danmark": "dk", "nederland": "nl", "italia": "it",
}
