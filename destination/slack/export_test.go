package slack

import "github.com/sluicehq/sluice/connector"

// SetLimits replaces Slack's limits for a test that would otherwise wait a
// second per message; it cannot be set from a project file.
func SetLimits(c *Config, l connector.RateLimits) { c.testLimits = &l }

// SharesBudget reports whether two destinations pace their messages by one budget.
func SharesBudget(a, b *Destination) bool { return a.client.Budget == b.client.Budget }
