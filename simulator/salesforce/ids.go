package salesforce

import "strings"

// Record ids are Salesforce's: a 3-character key prefix naming the object, a
// 2-character pod, a reserved "0" and a 9-character base-62 counter, then a
// 3-character suffix that encodes the case of the first 15 characters, so that
// the 18-character form survives case-insensitive systems. Ids are case-sensitive:
// 001…a and 001…A are two records.

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// pod is the instance part of the ids the simulator makes.
const pod = "5g"

// firstSequence starts every object's counter past 62^5, so that ids mix digits
// and letters of both cases as real ones do.
const firstSequence = 1_000_000_000

// newID returns the 18-character id of an object's n-th record.
func newID(prefix string, n uint64) string {
	var b [9]byte
	for i := 8; i >= 0; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	return withChecksum(prefix + pod + "0" + string(b[:]))
}

// withChecksum appends the case-encoding suffix to a 15-character id.
func withChecksum(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var suffix [3]byte
	for chunk := range 3 {
		bits := 0
		for i := range 5 {
			c := id15[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				bits |= 1 << i
			}
		}
		suffix[chunk] = alphabet[bits]
	}
	return id15 + string(suffix[:])
}

// isBase62 tells whether s holds only letters and digits.
func isBase62(s string) bool {
	for i := range len(s) {
		if strings.IndexByte(base62, s[i]) < 0 {
			return false
		}
	}
	return true
}

// canonicalID returns the 18-character form of a 15- or 18-character id, or ""
// when s is not one. The suffix of an 18-character id is compared without case,
// as Salesforce does.
func canonicalID(s string) string {
	switch len(s) {
	case 15:
		if !isBase62(s) {
			return ""
		}
		return withChecksum(s)
	case 18:
		if !isBase62(s) {
			return ""
		}
		full := withChecksum(s[:15])
		if !strings.EqualFold(full[15:], s[15:]) {
			return ""
		}
		return full
	}
	return ""
}

// validID tells whether s is a well-formed 15- or 18-character id.
func validID(s string) bool { return canonicalID(s) != "" }
