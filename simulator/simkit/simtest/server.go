package simtest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// lastHost numbers the loopback addresses NewServer listens on.
var lastHost atomic.Uint32

// NewServer starts h behind a test server whose address no other server of the
// process has had, the way httptest.NewServer does otherwise. Destinations
// share one rate budget per API account for the whole process, keyed by the
// API's address (connector/saas.SharedBudget): a test server reusing a closed
// one's port would inherit its requests and limits. On Linux every 127.x.y.z
// is the loopback; where only 127.0.0.1 is, the server listens there.
func NewServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	n := lastHost.Add(1)
	// 127.1.0.1, 127.1.0.2, … 127.1.0.254, 127.1.1.1, …: never .0 or .255.
	addr := fmt.Sprintf("127.%d.%d.%d:0", 1+n/(254*256)%254, n/254%256, 1+n%254)
	if ln, err := net.Listen("tcp", addr); err == nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	return srv
}
