// Package pgtest gives tests a throwaway PostgreSQL server: one per test binary,
// started on first use, with a fresh empty database for every Start call.
//
// A package's tests use it like this:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		url := pgtest.Start(t) // postgres://postgres:…@127.0.0.1:port/test_N
//		…
//	}
//
// The server's data directory, socket and log live under one temporary directory
// (pgtest-* in os.TempDir()). Main stops the server and removes that directory when the
// tests end. A test binary that is killed cannot run Main's cleanup, and PostgreSQL
// has no way to exit when its parent or its data directory goes away, so Start also
// launches a small watchdog process (sh, in its own session) that waits for the test
// process to disappear, then stops the server and removes the directory. Neither
// mechanism covers a machine that loses power: a leftover pgtest-* directory is then
// safe to delete.
//
// The server needs the PostgreSQL server binaries (initdb, pg_ctl, postgres; Debian
// package postgresql-15). When they are missing Start fails the test, never skips it.
// PostgreSQL refuses to run as root, so as root the server runs as the postgres user.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Main runs the package's tests (call it from TestMain) and stops the shared server
// afterwards.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Start returns the connection URL of a fresh, empty database on the server shared by
// the test binary, starting the server on first use. The database is dropped when the
// test ends.
func Start(t testing.TB) string {
	t.Helper()
	s, err := shared()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := fmt.Sprintf("test_%d", dbCounter.Add(1))
	if err := s.admin(fmt.Sprintf("CREATE DATABASE %s", name)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends the connections a test left open (a pool not yet closed).
		if err := s.admin(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.url(name)
}

// Stop stops the shared server, if one was started, and removes its directory. Main
// calls it; tests rarely need to.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if srv != nil {
		srv.stop()
	}
	srv, startErr = nil, nil
}

var (
	mu        sync.Mutex
	srv       *server
	startErr  error // remembered so that every test fails fast with the same reason
	dbCounter atomic.Int64
)

func shared() (*server, error) {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil && startErr == nil {
		srv, startErr = startServer()
	}
	return srv, startErr
}

// installHint is what to do when the server binaries are missing.
const installHint = "install the PostgreSQL 15 server (Debian/Ubuntu: apt-get install postgresql-15) " +
	"and put its bin directory (/usr/lib/postgresql/15/bin) on PATH"

// fallbackBinDirs are where distributions install the server binaries off PATH.
var fallbackBinDirs = []string{"/usr/lib/postgresql/15/bin", "/usr/pgsql-15/bin"}

// findBinaries returns the paths of initdb and pg_ctl, looking on PATH and then in dirs.
func findBinaries(dirs []string) (initdb, pgctl string, err error) {
	look := func(name string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s not found on PATH: %s", name, installHint)
	}
	if initdb, err = look("initdb"); err != nil {
		return "", "", err
	}
	if pgctl, err = look("pg_ctl"); err != nil {
		return "", "", err
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(pgctl), "postgres")); err != nil {
		return "", "", fmt.Errorf("postgres not found beside %s: %s", pgctl, installHint)
	}
	return initdb, pgctl, nil
}

type server struct {
	dir      string   // the one temporary directory holding everything below
	data     string   // data directory
	pgctl    string   // path of pg_ctl
	runAs    []string // command prefix that runs as the server's OS user, or nil
	port     int
	password string
	watchdog *os.Process

	mu   sync.Mutex // guards conn
	conn *pgx.Conn  // to the postgres database, for CREATE/DROP DATABASE
}

func (s *server) url(db string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", s.password, s.port, db)
}

func startServer() (*server, error) {
	initdb, pgctl, err := findBinaries(fallbackBinDirs)
	if err != nil {
		return nil, err
	}
	s := &server{pgctl: pgctl}
	var owner *user.User
	if os.Geteuid() == 0 {
		owner, err = user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and PostgreSQL refuses root: need an OS user named postgres to run the server as (%v); %s", err, installHint)
		}
		s.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	if s.dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.stop()
		}
	}()
	s.data = filepath.Join(s.dir, "data")
	run := filepath.Join(s.dir, "run") // socket and server log
	pwfile := filepath.Join(s.dir, "pwfile")
	s.password = randomHex(12)
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	for _, d := range []string{s.data, run} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	if owner != nil {
		// The server's user must traverse the temp dir and own what it writes.
		if err := os.Chmod(s.dir, 0o711); err != nil {
			return nil, err
		}
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		for _, p := range []string{s.data, run, pwfile} {
			if err := os.Chown(p, uid, gid); err != nil {
				return nil, err
			}
		}
	}
	if out, err := s.run(initdb, "-D", s.data, "-U", "postgres", "-E", "UTF8", "--locale=C",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile="+pwfile, "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	s.startWatchdog()
	// Another process may take the free port before the server binds it: try a few.
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			return nil, err
		}
		err = s.startPostmaster(run)
		if err == nil || attempt == 3 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.conn, err = pgx.Connect(ctx, s.url("postgres")); err != nil {
		return nil, fmt.Errorf("connect to the new server: %v", err)
	}
	ok = true
	return s, nil
}

func (s *server) startPostmaster(run string) error {
	conf := fmt.Sprintf(`
port = %d
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
`, s.port, run)
	// Appending keeps the file's owner (the server's user) and overrides earlier settings.
	f, err := os.OpenFile(filepath.Join(s.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	logfile := filepath.Join(run, "server.log")
	if out, err := s.run(s.pgctl, "start", "-D", s.data, "-l", logfile, "-w", "-t", "60"); err != nil {
		log, _ := os.ReadFile(logfile)
		return fmt.Errorf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, tail(log, 4000))
	}
	return nil
}

// startWatchdog launches a process, outside the test's process group so that an
// interrupt does not kill it first, that stops the server and removes its directory once
// the test process is gone. It is best effort: without it, Main still cleans up.
func (s *server) startWatchdog() {
	const script = `pid=$1 dir=$2 data=$3 pgctl=$4; shift 4
while kill -0 "$pid" 2>/dev/null; do sleep 1; done
"$@" "$pgctl" stop -D "$data" -m immediate >/dev/null 2>&1
rm -rf "$dir"`
	args := append([]string{"-c", script, "pgtest-watchdog", strconv.Itoa(os.Getpid()), s.dir, s.data, s.pgctl}, s.runAs...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// No stdio: go test waits for the pipes of every child to close.
	if err := cmd.Start(); err != nil {
		return
	}
	s.watchdog = cmd.Process
	go cmd.Wait() // reap it when Stop kills it
}

func (s *server) stop() {
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.conn.Close(ctx)
		cancel()
	}
	if s.data != "" {
		if _, err := os.Stat(filepath.Join(s.data, "postmaster.pid")); err == nil {
			s.run(s.pgctl, "stop", "-D", s.data, "-m", "immediate", "-w")
		}
	}
	if s.watchdog != nil {
		s.watchdog.Kill()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// run runs a server binary as the server's OS user and returns its combined output.
func (s *server) run(name string, args ...string) (string, error) {
	argv := append(append(append([]string{}, s.runAs...), name), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir // the server's user may not be able to read the current directory
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s *server) admin(sql string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.conn.Exec(ctx, sql)
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
