package config

import (
	"fmt"
	"os"
)

// Every problem in the file is reported at once, in file order, each with its
// position, key path and what to do.
func ExampleParse() {
	src := `sources:
  warehouse: {type: duckdb}
models:
  users:
    source: warehouse
    table: users
    primay_key: id
syncs:
  users_to_hook:
    model: users
    destination: hook
    mode: mirorr
`
	_, err := Parse("sluice.yaml", os.TempDir(), []byte(src), testCatalog, Options{})
	fmt.Println(err)
	// Output:
	// sluice.yaml:4:3: models.users.primary_key: required key is missing: add primary_key: with the column that identifies a row
	// sluice.yaml:7:5: models.users.primay_key: unknown key "primay_key": did you mean "primary_key"? (use one of source, query, table, primary_key)
	// sluice.yaml:11:18: syncs.users_to_hook.destination: unknown destination "hook": no destinations are declared: add one under destinations
	// sluice.yaml:12:11: syncs.users_to_hook.mode: unknown mode "mirorr": use one of insert, update, upsert, mirror
}

func ExampleProject_Redact() {
	lookup := func(name string) (string, bool) { return "s3cr3t-token", name == "HOOK_TOKEN" }
	src := `destinations:
  hook:
    type: webhook
    url: http://127.0.0.1:9000/events
    headers: {Authorization: "Bearer ${env:HOOK_TOKEN}"}
`
	p, err := Parse("sluice.yaml", os.TempDir(), []byte(src), testCatalog, Options{LookupEnv: lookup})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Redact("POST /events Authorization: Bearer s3cr3t-token"))
	// Output:
	// POST /events Authorization: Bearer [REDACTED]
}
