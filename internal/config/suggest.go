package config

import (
	"fmt"
	"strings"
)

// maxSuggestDistance is how many single-character edits a misspelling may be
// from a known word for a "did you mean" hint.
const maxSuggestDistance = 2

// closest returns the candidate nearest to word by edit distance, ignoring case,
// or "" when none is close enough to be a plausible typo.
func closest(word string, candidates []string) string {
	best, bestDist := "", maxSuggestDistance+1
	lw := strings.ToLower(word)
	for _, c := range candidates {
		d := editDistance(lw, strings.ToLower(c))
		// A distance as long as the word itself would match any short word.
		if d < bestDist && d < len([]rune(word)) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// unknownMessage says that got is not one of allowed and suggests the closest:
// `unknown key "primay_key": did you mean "primary_key"? (use one of source, …)`.
func unknownMessage(what, got string, allowed []string) string {
	list := "none are allowed here"
	if len(allowed) > 0 {
		list = "use one of " + strings.Join(allowed, ", ")
	}
	if s := closest(got, allowed); s != "" {
		return fmt.Sprintf("unknown %s %q: did you mean %q? (%s)", what, got, s, list)
	}
	return fmt.Sprintf("unknown %s %q: %s", what, got, list)
}

// unknownValue is unknownMessage for a value, which may have come from
// interpolation and then is named by its reference, with no suggestion.
func unknownValue(what string, n *node, allowed []string) string {
	if !n.interpolated {
		return unknownMessage(what, n.text, allowed)
	}
	list := "none are available"
	if len(allowed) > 0 {
		list = "use one of " + strings.Join(allowed, ", ")
	}
	return fmt.Sprintf("unknown %s %s: %s", what, n.quoted(), list)
}
