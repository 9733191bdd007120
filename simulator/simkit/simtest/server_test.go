package simtest

import (
	"net"
	"net/http"
	"testing"
)

// Each server has an address of its own, and serves.
func TestNewServerAddressesAreNeverReused(t *testing.T) {
	seen := map[string]bool{}
	for range 300 {
		srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
		host := srv.Listener.Addr().(*net.TCPAddr).IP.String()
		if seen[host] {
			t.Fatalf("host %s given twice", host)
		}
		seen[host] = true
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTeapot {
			t.Fatalf("status %d", resp.StatusCode)
		}
		srv.Close()
	}
}
