package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const bigSetup = `
create table users as
select i as id, 'user' || i || '@example.com' as email,
       (['free','pro','team'])[1 + (i % 3)::int] as plan, 0 as unmapped_score
from range(1, 20001) t(i);
`

// A sync killed with SIGKILL in the middle of sending loses no row: the next run
// sends what was not acknowledged, and re-sends at most the batches in flight.
func TestKilledSyncLosesNothing(t *testing.T) {
	p := newProject(t, usersProject, bigSetup)
	p.recv.SetDelay(15 * time.Millisecond)
	cmd := exec.Command(os.Args[0], "--config", filepath.Join(p.dir, "sluice.yaml"), "sync", "users_to_hook", "--json")
	cmd.Env = append(os.Environ(), "SLUICE_TEST_AS_CLI=1")
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for p.recv.EventCount() < 6000 {
		require.True(t, time.Now().Before(deadline), "the sync did not get going")
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	time.Sleep(100 * time.Millisecond) // requests the receiver was still answering finish
	delivered := len(p.contents())
	require.Less(t, delivered, 20000, "the kill came before the end")

	p.recv.SetDelay(0)
	run, code := p.syncJSON("users_to_hook")
	require.Equal(t, 0, code, "%v", run)
	sentAgain := num64(run, "succeeded") - (20000 - delivered)
	require.GreaterOrEqual(t, sentAgain, 0)
	require.LessOrEqual(t, sentAgain, 4*100, "at most max_in_flight batches of batch_size rows are sent twice")
	got := p.contents()
	require.Len(t, got, 20000, "no row is lost")
	require.Equal(t, `"user19999@example.com"`, got["19999"]["email"])

	// The killed run is closed in the run log, not left running.
	out, _, _ := p.sluice("runs", "users_to_hook")
	require.NotContains(t, out, "running")
	run, _ = p.syncJSON("users_to_hook")
	require.Equal(t, [3]int{0, 0, 0}, counts(run))
}

// mountTmpfs mounts a small tmpfs for a state directory that can fill up.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("filling a disk needs a small tmpfs, and mounting one needs root (CI runs as root)")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		// root without CAP_SYS_ADMIN (some containers): say so rather than fail
		t.Skipf("cannot mount a tmpfs to fill (%v: %s): this machine cannot run the disk-full test", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the disk is full and returns its path.
func fill(t *testing.T, dir string) string {
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			break
		}
	}
	small := make([]byte, 512)
	for {
		if _, err := f.Write(small); err != nil {
			break
		}
	}
	return path
}

func TestFullStateDirectoryFailsTheRunAndKeepsTheBaseline(t *testing.T) {
	state := mountTmpfs(t, "16m")
	p := newProject(t, usersProject, usersSetup)
	run, code := p.syncJSON("users_to_hook", "--state-dir", state)
	require.Equal(t, 0, code, "%v", run)

	filler := fill(t, state)
	p.sql(`update users set plan = 'x' where id <= 10`)
	run, code = p.syncJSON("users_to_hook", "--state-dir", state)
	require.Equal(t, 1, code)
	require.Equal(t, "failed", run["status"])
	require.Contains(t, run["error"], "full")
	require.Equal(t, int64(10), p.recv.Requests(), "nothing was sent by the failed run")

	require.NoError(t, os.Remove(filler))
	out, _, code := p.sluice("runs", "users_to_hook", "--state-dir", state)
	require.Equal(t, 0, code)
	require.Contains(t, out, "failed", "the failed run is in the run log")
	plan := p.planJSONIn(state)
	require.Equal(t, [3]int{0, 10, 0}, counts(plan), "the baseline is exactly as before")
	run, code = p.syncJSON("users_to_hook", "--state-dir", state)
	require.Equal(t, 0, code)
	require.Equal(t, [3]int{0, 10, 0}, counts(run))
}

// The disk fills up in the middle of a run: the run fails with a clear error, rows
// acknowledged before that are kept, and the next run sends everything else.
func TestStateDirectoryFillingMidRunLosesNothing(t *testing.T) {
	state := mountTmpfs(t, "6m")
	p := newProject(t, usersProject, strings.Replace(bigSetup, "range(1, 20001)", "range(1, 60001)", 1))
	run, code := p.syncJSON("users_to_hook", "--state-dir", state)
	require.Equal(t, 1, code, "%v", run)
	require.Contains(t, []string{"failed", "partial"}, run["status"])
	require.Contains(t, strings.ToLower(run["error"].(string)), "no space left")
	first := len(p.contents())

	bigger := mountTmpfs(t, "64m")
	require.NoError(t, exec.Command("cp", "-a", state+"/.", bigger).Run())
	run, code = p.syncJSON("users_to_hook", "--state-dir", bigger)
	require.Equal(t, 0, code, "%v", run)
	require.Len(t, p.contents(), 60000, "no row is lost")
	require.LessOrEqual(t, num64(run, "succeeded")-(60000-first), 4*100)
}

func (p *project) planJSONIn(state string) map[string]any {
	p.t.Helper()
	out, errOut, code := p.sluice("plan", "--json", "--state-dir", state, "users_to_hook")
	require.Equal(p.t, 0, code, errOut)
	return decodeObject(p.t, out)
}
