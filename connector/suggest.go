package connector

import "strings"

// maxSuggestDistance is how many single-character edits a misspelling may be
// from a known word for a "did you mean" hint.
const maxSuggestDistance = 2

// Closest returns the candidate nearest to word by edit distance, ignoring case,
// or "" when none is close enough to be a plausible typo. Configuration errors
// use it for "did you mean" hints (a key, a HubSpot property).
func Closest(word string, candidates []string) string {
	best, bestDist := "", maxSuggestDistance+1
	lw := strings.ToLower(word)
	for _, c := range candidates {
		d := EditDistance(lw, strings.ToLower(c))
		// A distance as long as the word itself would match any short word.
		if d < bestDist && d < len([]rune(word)) {
			best, bestDist = c, d
		}
	}
	return best
}

// EditDistance is the Levenshtein distance between a and b, in runes.
func EditDistance(a, b string) int {
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
