package hubspot

// SharesBudget reports whether two destinations pace their requests by one
// budget.
func SharesBudget(a, b *Destination) bool {
	return a.client.Load().Budget == b.client.Load().Budget
}
