package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

func TestStartGivesFreshDatabases(t *testing.T) {
	ctx := context.Background()
	first, second := Start(t), Start(t)
	require.NotEqual(t, first, second)

	a, err := pgx.Connect(ctx, first)
	require.NoError(t, err)
	defer a.Close(ctx)
	_, err = a.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY)")
	require.NoError(t, err)

	b, err := pgx.Connect(ctx, second)
	require.NoError(t, err)
	defer b.Close(ctx)
	var tables int
	require.NoError(t, b.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables))
	require.Zero(t, tables, "a second database must not see the first one's tables")

	var version string
	require.NoError(t, b.QueryRow(ctx, "SHOW server_version").Scan(&version))
	t.Logf("PostgreSQL %s", version)
}

func TestStartDropsTheDatabaseAfterTheTest(t *testing.T) {
	var url string
	t.Run("inner", func(t *testing.T) { url = Start(t) })
	_, err := pgx.Connect(context.Background(), url)
	require.Error(t, err)
	require.Contains(t, err.Error(), "does not exist")
}

func TestMissingBinariesSayWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, _, err := findBinaries(nil)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "apt-get install postgresql-15"), err.Error())
}
