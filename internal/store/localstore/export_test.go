package localstore

import (
	"errors"
	"os"
)

// FailSyncs makes every fsync of a log rewrite fail until restore is called.
func FailSyncs() (restore func()) {
	old := syncFile
	syncFile = func(*os.File) error { return errors.New("injected fsync failure") }
	return func() { syncFile = old }
}

// SetRewriteMinBytes lowers the size at which dead log bytes are rewritten, for tests.
func SetRewriteMinBytes(n int64) (restore func()) {
	old := rewriteMinBytes
	rewriteMinBytes = n
	return func() { rewriteMinBytes = old }
}
