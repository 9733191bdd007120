package config

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/connector"
)

// closest returns the candidate nearest to word, or "" (see connector.Closest).
func closest(word string, candidates []string) string { return connector.Closest(word, candidates) }

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
