package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/postgres"
	"github.com/sluicehq/sluice/record"
)

// The connection URL holds a password: it must not reach an error, a log line or a trace.
func TestPasswordNeverLeaks(t *testing.T) {
	t.Parallel()
	db := setup(t)
	db.exec(t, `CREATE TABLE users (id text PRIMARY KEY, email text NOT NULL, plan_tier text)`)
	u, err := url.Parse(db.url)
	require.NoError(t, err)
	password, _ := u.User.Password()
	require.NotEmpty(t, password)

	withPassword := func(pw string) string {
		c := *u
		c.User = url.UserPassword("postgres", pw)
		return c.String()
	}
	closedPort := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/db", password, port)
	}

	t.Run("open", func(t *testing.T) {
		for _, tc := range []struct {
			name, url, secret string
			permanent         bool
		}{
			{"bad port", "postgres://postgres:" + password + "@127.0.0.1:port/db", password, true},
			{"bad url escape", "postgres://postgres:" + password + "%zz@127.0.0.1:5432/db", password, true},
			{"keyword form", "host=127.0.0.1 port=bad password=" + password, password, true},
			{"wrong password", withPassword("wrong-" + password), "wrong-" + password, true},
			{"nothing listening", closedPort(), password, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := db.tryOpen(postgres.Config{URL: tc.url, Table: "users"}, usersInfo)
				require.Error(t, err)
				require.NotContains(t, err.Error(), tc.secret)
				require.NotContains(t, err.Error(), password)
				require.Equal(t, tc.permanent, connector.IsPermanent(err), "%v", err)
				t.Log(err)
			})
		}
	})

	t.Run("write", func(t *testing.T) {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg := postgres.Config{URL: db.url, Table: "users"}
		d, err := postgres.Spec.Open(context.Background(), connector.DestinationParams{Config: &cfg, Sync: usersInfo, Logger: logger})
		require.NoError(t, err)
		defer d.Close()

		var r recorder
		var errs []error
		errs = append(errs, d.Write(context.Background(), r.batch([]record.Change{
			add("u1", user("u1", "a@x", "free")),
			add("u2", fields("id", "u2", "email", nil, "plan_tier", "free")), // isolated by splitting: logs at debug
		})))
		db.exec(t, `DROP TABLE users`)
		errs = append(errs, d.Write(context.Background(), r.batch([]record.Change{add("u3", user("u3", "b@x", "free"))})))
		require.NoError(t, d.Close())
		errs = append(errs, d.Write(context.Background(), r.batch([]record.Change{add("u4", user("u4", "c@x", "free"))})))

		var seen strings.Builder
		for _, err := range errs {
			require.Error(t, err)
			fmt.Fprintln(&seen, err)
			if be, ok := err.(*connector.BatchError); ok {
				for _, row := range be.Rows {
					fmt.Fprintln(&seen, row.Err)
				}
			}
		}
		for _, ex := range r.exchanges {
			fmt.Fprintln(&seen, ex.Request.Line, string(ex.Request.Body), ex.Response.Line, string(ex.Response.Body), ex.Err)
		}
		seen.WriteString(logs.String())
		require.Contains(t, seen.String(), "42P01", "the dropped table's error was seen")
		require.Contains(t, logs.String(), "isolating")
		require.NotContains(t, seen.String(), password)
		require.NotContains(t, seen.String(), db.url)
	})
}
