package localstore

// SetRewriteMinBytes lowers the size at which dead log bytes are rewritten, for tests.
func SetRewriteMinBytes(n int64) (restore func()) {
	old := rewriteMinBytes
	rewriteMinBytes = n
	return func() { rewriteMinBytes = old }
}
