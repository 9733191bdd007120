package config

import (
	"errors"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that it returns either a
// project or a non-empty *Errors, never both or neither.
func FuzzParse(f *testing.F) {
	f.Add([]byte(fullProject))
	f.Add([]byte(prelude + "  s: {model: users, destination: crm, mode: upsert, object: contacts}\n"))
	f.Add([]byte(everything("    str: x\n    nested: &n {user: a}\n    opt: *n\n    labels: {<<: {a: b}, c: d}\n")))
	f.Add([]byte("sources:\n  wh: [\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("x: ${env:HOME} $${ ${file:nope} ${"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Add([]byte("!!str 1\n"))
	f.Add([]byte(""))
	dir := f.TempDir()
	lookup := env(map[string]string{"HOOK_TOKEN": "tok-123456", "HOOK_SECRET": "whsec-abcdef", "DATABASE_URL": "postgres://x"})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("sluice.yaml", dir, data, testCatalog, Options{LookupEnv: lookup})
		if err == nil {
			if p == nil {
				t.Fatal("nil project without an error")
			}
			return
		}
		if p != nil {
			t.Fatal("a project returned with an error")
		}
		var errs *Errors
		if !errors.As(err, &errs) || len(*errs) == 0 {
			t.Fatalf("error is not a non-empty *Errors: %#v", err)
		}
		for _, e := range *errs {
			if e == nil || e.Message == "" {
				t.Fatalf("empty error in %v", *errs)
			}
		}
		_ = err.Error()
	})
}
