package facebook

// SetSessionIDs makes replace session ids come from next, for golden files; it
// returns what restores the random ids.
func SetSessionIDs(next func() int64) (restore func()) {
	old := newSessionID
	newSessionID = next
	return func() { newSessionID = old }
}
