// Package conformance is the suite every destination passes: the contract of
// connector.Destination checked against a real instance of the destination (a
// server, a simulator, a database) through a small harness.
//
// A destination package calls TestDestination from a test:
//
//	func TestConformance(t *testing.T) {
//		conformance.TestDestination(t, Spec, conformance.Harness{Setup: setupTarget})
//	}
package conformance

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/record"
)

// Harness connects the suite to a live destination.
type Harness struct {
	// Setup returns a destination opened for info against a fresh, empty target (a
	// new table, a new receiver) whose fields have the given kinds, in info.Fields order.
	Setup func(t *testing.T, info connector.SyncInfo, kinds []record.Kind) Target
	// Kinds lists the value kinds the destination can hold and give back; nil means all.
	Kinds []record.Kind
}

// Target is one live destination under test.
type Target struct {
	Destination connector.Destination
	// Contents returns what the destination holds, by key, as canonical values.
	Contents func(t *testing.T) map[string]record.Fields
	// RejectKey, when set, makes the destination refuse every later write of key
	// with a per-row error, so the suite can check partial failures.
	RejectKey func(key string)
	// Seed, when set, puts rows straight into the target (not through the
	// destination), as an earlier sync would have; update mode is tested with it.
	Seed func(t *testing.T, rows map[string]record.Fields)
}

// TestDestination runs the suite.
func TestDestination(t *testing.T, spec connector.DestinationSpec, h Harness) {
	t.Run("Spec", func(t *testing.T) { testSpec(t, spec) })
	for _, mode := range spec.Modes {
		t.Run("Mode_"+string(mode), func(t *testing.T) { testMode(t, h, mode) })
	}
	t.Run("Types", func(t *testing.T) { testTypes(t, h) })
	t.Run("FullBatch", func(t *testing.T) { testFullBatch(t, h, spec) })
	t.Run("Resend", func(t *testing.T) { testResend(t, h, spec) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, h, spec) })
	t.Run("PartialFailure", func(t *testing.T) { testPartialFailure(t, h, spec) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, h, spec) })
	t.Run("BatchMemoryIsReused", func(t *testing.T) { testBatchMemoryReused(t, h, spec) })
}

var basicInfo = connector.SyncInfo{
	Name: "conformance", KeyColumn: "id", KeyField: "id",
	Fields: []string{"id", "email", "score"},
}

var basicKinds = []record.Kind{record.KindString, record.KindString, record.KindInt}

func basicRow(key string, score int64) record.Fields {
	return record.MakeFields(basicInfo.Fields, []record.Value{key, key + "@example.com", score})
}

func infoFor(mode connector.Mode) connector.SyncInfo {
	info := basicInfo
	info.Mode = mode
	return info
}

func testSpec(t *testing.T, spec connector.DestinationSpec) {
	if spec.Type == "" {
		t.Error("spec has no Type")
	}
	if spec.Summary == "" {
		t.Error("spec has no Summary")
	}
	if spec.NewConfig == nil || spec.NewConfig() == nil {
		t.Error("spec has no NewConfig")
	}
	if spec.Open == nil {
		t.Error("spec has no Open")
	}
	if len(spec.Modes) == 0 {
		t.Error("spec declares no modes")
	}
	for _, m := range spec.Modes {
		if !m.Valid() {
			t.Errorf("spec declares unknown mode %q", m)
		}
	}
}

func checkCapabilities(t *testing.T, c connector.Capabilities) {
	t.Helper()
	if c.MaxBatchRecords < 1 || c.MaxInFlight < 1 || c.MaxAttempts < 1 {
		t.Fatalf("capabilities must allow at least one record, request and attempt: %+v", c)
	}
}

// write sends changes in batches within the destination's limits and fails the test on any error.
func write(t *testing.T, d connector.Destination, changes []record.Change) {
	t.Helper()
	if err := tryWrite(d, changes); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func tryWrite(d connector.Destination, changes []record.Change) error {
	max := d.Capabilities().MaxBatchRecords
	for i := 0; i < len(changes); i += max {
		end := min(i+max, len(changes))
		var traced int
		b := connector.NewBatch("conformance", "run-1", fmt.Sprintf("batch-%d", i), changes[i:end], func(ex connector.Exchange) {
			traced++
			if ex.Request.Line == "" {
				panic("an exchange was traced with an empty request line")
			}
		})
		if err := d.Write(context.Background(), b); err != nil {
			return err
		}
		if traced == 0 {
			return errors.New("the destination traced no exchange: Write must call Batch.Trace for every request")
		}
	}
	return nil
}

func add(key string, score int64) record.Change {
	return record.Change{Op: record.OpAdd, Key: key, Fields: basicRow(key, score)}
}

func change(key string, before, after int64) record.Change {
	return record.Change{Op: record.OpChange, Key: key, Fields: basicRow(key, after), Previous: basicRow(key, before)}
}

func remove(key string, last int64) record.Change {
	return record.Change{Op: record.OpRemove, Key: key, Fields: basicRow(key, last)}
}

func keys(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// wantContents checks that the destination holds exactly want.
func wantContents(t *testing.T, tg Target, want map[string]record.Fields) {
	t.Helper()
	got := tg.Contents(t)
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("key %q: missing from the destination", k)
			continue
		}
		if !sameFields(w, g) {
			t.Errorf("key %q: destination holds %s, want %s", k, g.AppendJSON(nil), w.AppendJSON(nil))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("key %q: in the destination but should not be", k)
		}
	}
}

// sameFields compares by the JSON form of each wanted field, so destinations may
// hold more fields than were written (a table's other columns).
func sameFields(want, got record.Fields) bool {
	for i, n := range want.Names {
		gv, ok := got.Get(n)
		if !ok {
			return false
		}
		if string(record.AppendJSON(nil, want.Values()[i])) != string(record.AppendJSON(nil, gv)) {
			return false
		}
	}
	return true
}

func testMode(t *testing.T, h Harness, mode connector.Mode) {
	tg := h.Setup(t, infoFor(mode), basicKinds)
	d := tg.Destination
	defer d.Close()
	checkCapabilities(t, d.Capabilities())
	want := map[string]record.Fields{}
	var adds []record.Change
	for i, k := range keys(25, "m") {
		adds = append(adds, add(k, int64(i)))
		want[k] = basicRow(k, int64(i))
	}
	if mode.Sends(record.OpAdd) {
		write(t, d, adds)
	} else {
		if tg.Seed == nil {
			t.Fatalf("mode %s sends no added rows: the harness must set Target.Seed so the suite can test updates", mode)
		}
		tg.Seed(t, want)
	}
	wantContents(t, tg, want)
	if !mode.Sends(record.OpChange) {
		return
	}
	var changes []record.Change
	for i, k := range keys(10, "m") {
		changes = append(changes, change(k, int64(i), int64(i)+100))
		want[k] = basicRow(k, int64(i)+100)
	}
	write(t, d, changes)
	wantContents(t, tg, want)
	if !mode.Sends(record.OpRemove) {
		return
	}
	var removes []record.Change
	for i, k := range keys(5, "m") {
		removes = append(removes, remove(k, int64(i)+100))
		delete(want, k)
	}
	removes = append(removes, remove("never-synced", 0)) // removing what is absent succeeds
	write(t, d, removes)
	wantContents(t, tg, want)
}

var allKinds = []record.Kind{
	record.KindNull, record.KindBool, record.KindInt, record.KindFloat, record.KindDecimal,
	record.KindString, record.KindBytes, record.KindDate, record.KindTimestamp,
	record.KindJSON, record.KindList, record.KindStruct,
}

// sample returns two distinct values of kind k (the null kind has one).
func sample(k record.Kind) []record.Value {
	big1, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	switch k {
	case record.KindNull:
		return []record.Value{nil, nil}
	case record.KindBool:
		return []record.Value{true, false}
	case record.KindInt:
		return []record.Value{int64(-9007199254740993), int64(42)}
	case record.KindFloat:
		return []record.Value{1.5, -0.25}
	case record.KindDecimal:
		return []record.Value{record.NewDecimal(big1, 10), record.NewDecimal(big.NewInt(-1250), 2)}
	case record.KindString:
		return []record.Value{"héllo \"world\"\n", ""}
	case record.KindBytes:
		return []record.Value{[]byte{0, 1, 2, 255}, []byte("x")}
	case record.KindDate:
		return []record.Value{record.Date{Year: 2024, Month: 2, Day: 29}, record.Date{Year: 1999, Month: 12, Day: 31}}
	case record.KindTimestamp:
		return []record.Value{time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC), time.Unix(0, 0).UTC()}
	case record.KindJSON:
		return []record.Value{record.JSON(`{"b":1,"a":[true,null]}`), record.JSON(`[1,2]`)}
	case record.KindList:
		return []record.Value{[]record.Value{int64(1), int64(2)}, []record.Value{}}
	case record.KindStruct:
		return []record.Value{record.Struct{{Name: "z", Value: int64(1)}, {Name: "a", Value: "x"}}, record.Struct{{Name: "z", Value: int64(2)}, {Name: "a", Value: nil}}}
	}
	return nil
}

func testTypes(t *testing.T, h Harness) {
	kinds := h.Kinds
	if kinds == nil {
		kinds = allKinds
	}
	info := connector.SyncInfo{Name: "conformance", Mode: connector.ModeUpsert, KeyColumn: "id", KeyField: "id", Fields: []string{"id"}}
	fieldKinds := []record.Kind{record.KindString}
	for _, k := range kinds {
		if k == record.KindNull {
			continue
		}
		info.Fields = append(info.Fields, "f_"+k.String())
		fieldKinds = append(fieldKinds, k)
	}
	tg := h.Setup(t, info, fieldKinds)
	defer tg.Destination.Close()
	want := map[string]record.Fields{}
	var changes []record.Change
	for row := range 3 {
		key := "t" + strconv.Itoa(row)
		values := []record.Value{key}
		for _, k := range fieldKinds[1:] {
			switch row {
			case 2:
				values = append(values, nil) // every kind must take null
			default:
				values = append(values, sample(k)[row])
			}
		}
		f := record.MakeFields(info.Fields, values)
		changes = append(changes, record.Change{Op: record.OpAdd, Key: key, Fields: f})
		want[key] = f
	}
	write(t, tg.Destination, changes)
	wantContents(t, tg, want)
}

func testFullBatch(t *testing.T, h Harness, spec connector.DestinationSpec) {
	mode := upsertish(spec)
	tg := h.Setup(t, infoFor(mode), basicKinds)
	defer tg.Destination.Close()
	n := tg.Destination.Capabilities().MaxBatchRecords
	n = min(n, 20_000)
	want := map[string]record.Fields{}
	var changes []record.Change
	for i, k := range keys(n, "f") {
		changes = append(changes, add(k, int64(i)))
		want[k] = basicRow(k, int64(i))
	}
	write(t, tg.Destination, changes)
	wantContents(t, tg, want)
}

// upsertish picks the mode that takes added rows, preferring upsert.
func upsertish(spec connector.DestinationSpec) connector.Mode {
	for _, m := range []connector.Mode{connector.ModeUpsert, connector.ModeMirror, connector.ModeInsert} {
		if spec.SupportsMode(m) {
			return m
		}
	}
	return spec.Modes[0]
}

// testResend checks at-least-once safety: a batch delivered twice (a retry after a
// lost response, a re-send after a crash) leaves the same contents.
func testResend(t *testing.T, h Harness, spec connector.DestinationSpec) {
	tg := h.Setup(t, infoFor(upsertish(spec)), basicKinds)
	defer tg.Destination.Close()
	want := map[string]record.Fields{}
	var changes []record.Change
	for i, k := range keys(10, "r") {
		changes = append(changes, add(k, int64(i)))
		want[k] = basicRow(k, int64(i))
	}
	write(t, tg.Destination, changes)
	write(t, tg.Destination, changes)
	wantContents(t, tg, want)
}

func testConcurrent(t *testing.T, h Harness, spec connector.DestinationSpec) {
	tg := h.Setup(t, infoFor(upsertish(spec)), basicKinds)
	defer tg.Destination.Close()
	caps := tg.Destination.Capabilities()
	workers := min(caps.MaxInFlight, 8)
	per := min(caps.MaxBatchRecords, 50)
	want := map[string]record.Fields{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		var changes []record.Change
		for i, k := range keys(per, fmt.Sprintf("c%d-", w)) {
			changes = append(changes, add(k, int64(i)))
			mu.Lock()
			want[k] = basicRow(k, int64(i))
			mu.Unlock()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = tryWrite(tg.Destination, changes)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent writes: %v", err)
	}
	wantContents(t, tg, want)
}

func testPartialFailure(t *testing.T, h Harness, spec connector.DestinationSpec) {
	tg := h.Setup(t, infoFor(upsertish(spec)), basicKinds)
	defer tg.Destination.Close()
	if tg.RejectKey == nil {
		t.Skip("the harness cannot make the destination reject a row")
	}
	tg.RejectKey("p3")
	tg.RejectKey("p7")
	var changes []record.Change
	want := map[string]record.Fields{}
	for i, k := range keys(10, "p") {
		changes = append(changes, add(k, int64(i)))
		if k != "p3" && k != "p7" {
			want[k] = basicRow(k, int64(i))
		}
	}
	failed, err := writeIsolating(context.Background(), tg.Destination, "batch-partial", changes, 0)
	if err != nil {
		t.Fatalf("Write returned %v, want a *connector.BatchError naming the rejected rows (or connector.Divisible, halved as the engine does)", err)
	}
	if len(failed) == 0 {
		t.Fatal("Write reported no failed row, want rows 3 and 7")
	}
	slices.Sort(failed)
	if !slices.Equal(failed, []int{3, 7}) {
		t.Fatalf("BatchError names rows %v, want [3 7]", failed)
	}
	wantContents(t, tg, want)
}

// writeIsolating writes changes as the engine does (see isolate) and returns
// the failed rows' indexes, each checked to carry a reason, or the error that
// failed a whole write.
func writeIsolating(ctx context.Context, d connector.Destination, id string, changes []record.Change, off int) ([]int, error) {
	var failed []int
	var problem error
	err := isolate(ctx, d, id, changes, off, func(i int, err error) {
		if (err == nil || err.Error() == "") && problem == nil {
			problem = fmt.Errorf("row %d failed without a reason", i)
		}
		failed = append(failed, i)
	}, func(_, _ int, err error) error { return err })
	if err != nil {
		return nil, err
	}
	return failed, problem
}

// isolate writes changes as the engine does: a *connector.BatchError names
// failed rows; a connector.Divisible refusal of several changes is halved until
// the rows at fault fail alone. fail hears each failed row (its index offset by
// off) with its reason; any other error of a write goes to whole, with the part
// it refused, and what whole returns stops the writing.
func isolate(ctx context.Context, d connector.Destination, id string, changes []record.Change, off int,
	fail func(i int, err error), whole func(off, n int, err error) error) error {
	err := d.Write(ctx, connector.NewBatch("conformance", "run-1", id, changes, nil))
	var be *connector.BatchError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &be):
		for _, r := range be.Rows {
			fail(off+r.Index, r.Err)
		}
		return nil
	case !connector.IsDivisible(err):
		return whole(off, len(changes), err)
	case len(changes) == 1:
		fail(off, err)
		return nil
	}
	half := len(changes) / 2
	if err := isolate(ctx, d, id+"a", changes[:half:half], off, fail, whole); err != nil {
		return err
	}
	return isolate(ctx, d, id+"b", changes[half:], off+half, fail, whole)
}

func testCancelled(t *testing.T, h Harness, spec connector.DestinationSpec) {
	tg := h.Setup(t, infoFor(upsertish(spec)), basicKinds)
	defer tg.Destination.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := connector.NewBatch("conformance", "run-1", "batch-cancelled", []record.Change{add("x", 1)}, nil)
	done := make(chan error, 1)
	go func() { done <- tg.Destination.Write(ctx, b) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Write with a cancelled context returned nil")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Write with a cancelled context did not return")
	}
}

// testBatchMemoryReused checks that a destination keeps nothing of a batch after
// Write returns: the engine reuses a batch's memory for the next one, so a
// destination that holds on to keys or fields (to send them later) would send
// whatever the memory holds by then.
func testBatchMemoryReused(t *testing.T, h Harness, spec connector.DestinationSpec) {
	tg := h.Setup(t, infoFor(upsertish(spec)), basicKinds)
	defer tg.Destination.Close()
	const n = 20
	arena := make([]byte, 0, 4096)
	want := map[string]record.Fields{}
	var changes []record.Change
	for i := range n {
		key := "reuse" + strconv.Itoa(i)
		values := []record.Value{key, key + "@example.com", int64(i)}
		want[key] = record.MakeFields(basicInfo.Fields, values)
		at := len(arena)
		arena = append(arena, key...)
		keyText := unsafe.String(&arena[at], len(key))
		encAt := len(arena)
		arena = record.AppendValues(arena, values)
		changes = append(changes, record.Change{Op: record.OpAdd, Key: keyText, Fields: record.EncodedFields(basicInfo.Fields, arena[encAt:len(arena):len(arena)])})
	}
	write(t, tg.Destination, changes)
	for i := range arena {
		arena[i] = 'x' // what the engine's next batch would do to this memory
	}
	write(t, tg.Destination, []record.Change{add("after", 1)})
	want["after"] = basicRow("after", 1)
	if err := tg.Destination.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantContents(t, tg, want)
}
