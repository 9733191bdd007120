package cli

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// baselineUnchanged checks that a plan still wants to send exactly want.
func baselineUnchanged(t *testing.T, p *project, want [3]int) {
	t.Helper()
	require.Equal(t, want, counts(p.planJSON("users_to_hook")), "the baseline must be exactly as before the failed run")
}

func lastRun(t *testing.T, p *project) map[string]any {
	t.Helper()
	out, _, code := p.sluice("runs", "users_to_hook", "--json")
	require.Equal(t, 0, code)
	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &runs))
	require.NotEmpty(t, runs)
	return runs[0]
}

func TestUnreachableDestinationFailsTheRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p := newProject(t, strings.Replace(usersProject, "url: {{URL}}", "url: http://"+addr+"/events", 1), usersSetup)
	run, code := p.syncJSON("users_to_hook")
	require.Equal(t, 1, code)
	require.Equal(t, "failed", run["status"])
	require.Contains(t, run["error"], "connection refused")
	require.Equal(t, 0, num64(run, "succeeded"))
	require.Equal(t, 1000, num64(run, "failed"))
	require.Equal(t, "failed", lastRun(t, p)["status"])
	baselineUnchanged(t, p, [3]int{1000, 0, 0})
}

func TestModelErrorsFailTheRunAndKeepTheBaseline(t *testing.T) {
	cases := map[string]struct {
		model string
		setup string
		want  string
	}{
		"broken csv": {
			model: `query: "select * from read_csv('users.csv', header = true, columns = {'id': 'INTEGER', 'email': 'VARCHAR', 'plan': 'VARCHAR'})"`,
			setup: "id,email,plan\n1,a@x.io,free\n2,\"b@x.io,pro\n3,c@x.io,team,extra,columns\n",
			want:  "users",
		},
		"bad sql": {
			model: `query: select id, email, plan from no_such_table`,
			want:  "no_such_table",
		},
		"missing key column": {
			model: `query: select email, plan from users`,
			want:  `no column "id"`,
		},
		"unmapped column": {
			model: `query: select id, email from users`,
			want:  `maps column "plan"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl := strings.Replace(usersProject, "table: users", tc.model, 1)
			p := newProject(t, tmpl, usersSetup)
			if tc.setup != "" {
				require.NoError(t, os.WriteFile(filepath.Join(p.dir, "users.csv"), []byte(tc.setup), 0o644))
			}
			run, code := p.syncJSON("users_to_hook")
			require.Equal(t, 1, code)
			require.Equal(t, "failed", run["status"])
			require.Contains(t, run["error"], tc.want)
			require.Equal(t, int64(0), p.recv.Requests(), "nothing is sent when the model cannot be read")
			require.Equal(t, "failed", lastRun(t, p)["status"])
			_, errOut, code := p.sluice("plan", "users_to_hook")
			require.Equal(t, 1, code)
			require.Contains(t, errOut, tc.want)
		})
	}
}

// A broken CSV after a good run leaves the baseline exactly as the good run left it.
func TestBrokenInputAfterAGoodRunKeepsTheBaseline(t *testing.T) {
	tmpl := strings.Replace(usersProject, "table: users", `query: select * from read_csv('users.csv', header = true)`, 1)
	p := newProject(t, tmpl, "")
	csv := "id,email,plan\n"
	for i := 1; i <= 300; i++ {
		csv += strings.Join([]string{itoa(i), "u" + itoa(i) + "@x.io", "free"}, ",") + "\n"
	}
	path := filepath.Join(p.dir, "users.csv")
	require.NoError(t, os.WriteFile(path, []byte(csv), 0o644))
	run, code := p.syncJSON("users_to_hook")
	require.Equal(t, 0, code, "%v", run)
	require.NoError(t, os.WriteFile(path, []byte(csv+"301,\"unterminated@x.io,free\n302,x,y,z,w\n"), 0o644))
	run, code = p.syncJSON("users_to_hook")
	require.Equal(t, 1, code)
	require.Equal(t, "failed", run["status"])
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(csv, "u5@x.io", "changed@x.io", 1)), 0o644))
	require.Equal(t, [3]int{0, 1, 0}, counts(p.planJSON("users_to_hook")))
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + jsonNum(i)) }

func jsonNum(i int) string { b, _ := json.Marshal(i); return string(b) }

// A state directory that cannot be written fails the run with exit code 1, and
// --json still prints one object.
func TestUnwritableStateIsAFailedRun(t *testing.T) {
	p := newProject(t, usersProject, usersSetup)
	state := filepath.Join(p.dir, "state-file")
	require.NoError(t, os.WriteFile(state, []byte("not a directory"), 0o644))
	out, errOut, code := p.sluice("sync", "users_to_hook", "--json", "--state-dir", state)
	require.Equal(t, 1, code, errOut)
	v := decodeObject(t, out)
	require.Equal(t, "failed", v["status"])
	require.NotEmpty(t, v["error"])
}
