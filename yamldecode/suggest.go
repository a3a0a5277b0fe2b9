package yamldecode

import "fmt"

// Closest returns the option nearest to word by edit distance, or "" when
// none is close enough to be a likely typo (at most a third of the word's
// letters changed, and at least one).
func Closest(word string, options []string) string {
	best, bestD := "", len(word)/3
	if bestD < 1 {
		bestD = 1
	}
	for _, o := range options {
		if d := distance(word, o); d <= bestD && (best == "" || d < distance(word, best)) {
			best = o
		}
	}
	return best
}

// distance is the Levenshtein edit distance between a and b, counting a
// swap of two neighbours as one edit (Damerau, optimal string alignment).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
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
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// DidYouMean returns `; did you mean "x"?` naming the option closest to
// word, or "" when none is close: the tail of an "unknown NAME" message.
func DidYouMean(word string, options []string) string {
	if s := Closest(word, options); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}
